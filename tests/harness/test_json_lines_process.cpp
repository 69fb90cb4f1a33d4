#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness/error.h"
#include "harness/json_lines_process.h"
#include "tests/support/test_util.h"

namespace fs = std::filesystem;
using caig::JsonLinesProcess;
using caig::JsonLinesProcessOptions;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

const fs::path kData = fs::path(CAIG_SOURCE_DIR) / "tests" / "harness" / "data";

bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return false;
  std::string dirs = path;
  size_t from = 0;
  for (;;) {
    const size_t colon = dirs.find(':', from);
    const fs::path dir = dirs.substr(from, colon == std::string::npos ? colon : colon - from);
    if (::access((dir / program).c_str(), X_OK) == 0) return true;
    if (colon == std::string::npos) return false;
    from = colon + 1;
  }
}

// The system interpreter when there is one: version-manager shims on PATH (pyenv) can take a
// second per start, and the test scripts need only the standard library.
std::string python() {
  for (const char* p : {"/usr/bin/python3", "/usr/local/bin/python3"})
    if (::access(p, X_OK) == 0) return p;
  return "python3";
}

JsonLinesProcessOptions script(const std::string& name, std::vector<std::string> args = {},
                               double timeout = 10) {
  JsonLinesProcessOptions o;
  o.command = {python(), (kData / name).string()};
  o.command.insert(o.command.end(), args.begin(), args.end());
  o.timeout_seconds = timeout;
  o.name = "test-rm";
  return o;
}

// The message of the caig::Error that `f` throws ("" if it throws none).
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const caig::Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no caig::Error thrown";
  return "";
}

bool reaped(int pid) { return ::waitpid(pid, nullptr, WNOHANG) == -1 && errno == ECHILD; }

fs::path fresh_dir(const std::string& name) {
  const fs::path p =
      fs::temp_directory_path() / ("caig_jlp_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

class JsonLinesProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!on_path("python3")) GTEST_SKIP() << "python3 is not on PATH";
  }
};

}  // namespace

TEST_F(JsonLinesProcessTest, RoundTrip) {
  int pid = -1;
  {
    JsonLinesProcess p(script("echo.py"));
    pid = p.pid();
    EXPECT_GT(pid, 0);
    EXPECT_TRUE(p.running());
    const json request = {{"id", 1}, {"text", "h\u00e9llo \"quoted\"\nnewline"}, {"v", {1, 2.5}}};
    const json answer = p.request(request);
    EXPECT_EQ(answer["id"], 1);
    EXPECT_EQ(answer["echo"], request);
    EXPECT_EQ(p.request({{"id", "two"}})["id"], "two");
    // A request without an id is matched by order alone.
    EXPECT_EQ(p.request(json{{"x", 3}})["echo"]["x"], 3);

    JsonLinesProcess moved = std::move(p);  // the child moves with the object
    EXPECT_EQ(moved.pid(), pid);
    EXPECT_EQ(moved.request({{"id", 4}})["id"], 4);
  }
  EXPECT_TRUE(reaped(pid));  // the destructor closed stdin and waited for the exit
}

TEST_F(JsonLinesProcessTest, ProgramIsLookedUpInPath) {
  auto options = script("echo.py");
  options.command.insert(options.command.begin(), "env");  // found through PATH, as execvp would
  JsonLinesProcess p(options);
  EXPECT_EQ(p.request({{"id", 1}})["id"], 1);
}

TEST_F(JsonLinesProcessTest, RequestAllPipelinesManyRequestsWithoutDeadlock) {
  // 2000 requests of ~1 KB each: megabytes both ways, far beyond a pipe's buffer, so writing
  // everything before reading would deadlock against a child that answers as it reads.
  JsonLinesProcess p(script("echo.py"));
  std::vector<json> requests;
  const std::string payload(1000, 'p');
  for (int i = 0; i < 2000; ++i) requests.push_back({{"id", i}, {"payload", payload}});
  const auto answers = p.request_all(requests);
  ASSERT_EQ(answers.size(), requests.size());
  for (int i = 0; i < 2000; ++i) {
    ASSERT_EQ(answers[i]["id"], i);
    ASSERT_EQ(answers[i]["echo"]["payload"], payload);
  }
  EXPECT_EQ(p.request({{"id", 2000}})["id"], 2000);  // still in step afterwards
  EXPECT_TRUE(p.request_all({}).empty());
}

TEST_F(JsonLinesProcessTest, StderrIsDrainedWithoutBlockingTheChild) {
  JsonLinesProcess p(script("echo.py", {"--flood"}));  // 1 MiB of stderr before answering
  EXPECT_EQ(p.request({{"id", 1}})["id"], 1);
}

TEST_F(JsonLinesProcessTest, ArgumentsArePassedVerbatimWithoutAShell) {
  const std::vector<std::string> args = {"a b;c", "$(echo hi)", "*", "'q' \"r\"", "", "x|y>z"};
  const fs::path dir = fresh_dir("cwd");
  auto options = script("echo_args.py", args);
  options.working_dir = dir;
  JsonLinesProcess p(options);
  const json answer = p.request({{"id", 1}});
  EXPECT_EQ(answer["argv"].get<std::vector<std::string>>(), args);
  EXPECT_EQ(fs::canonical(answer["cwd"].get<std::string>()), fs::canonical(dir));
  EXPECT_TRUE(fs::is_empty(dir));  // no "z" file: ">" was not a redirection
  fs::remove_all(dir);
}

TEST_F(JsonLinesProcessTest, CrashReportsExitStatusAndStderrTail) {
  JsonLinesProcess p(script("crash.py"));
  const int pid = p.pid();
  const std::string message = error_of([&] { p.request({{"id", 7}, {"x", 1}}); });
  EXPECT_THAT(message, HasSubstr("test-rm"));
  EXPECT_THAT(message, HasSubstr("crash.py"));
  EXPECT_THAT(message, HasSubstr("request id 7"));
  EXPECT_THAT(message, HasSubstr("exited with status 3"));
  EXPECT_THAT(message, HasSubstr("crash.py: model exploded while scoring"));
  EXPECT_THAT(message, Not(HasSubstr("filler line 0 ")));  // only the tail is kept
  EXPECT_LT(message.size(), 4000u);
  EXPECT_FALSE(p.running());
  EXPECT_TRUE(reaped(pid));
  // Later calls fail at once, quoting the first error.
  const std::string again = error_of([&] { p.request({{"id", 8}}); });
  EXPECT_THAT(again, HasSubstr("no longer running"));
  EXPECT_THAT(again, HasSubstr("request id 8"));
  EXPECT_THAT(again, HasSubstr("exited with status 3"));
}

TEST_F(JsonLinesProcessTest, TimeoutKillsTheChild) {
  JsonLinesProcess p(script("hang.py", {}, 0.5));
  const int pid = p.pid();
  const auto t0 = std::chrono::steady_clock::now();
  const std::string message = error_of([&] { p.request({{"id", 3}}); });
  const double elapsed = seconds_since(t0);
  EXPECT_GE(elapsed, 0.45);
  EXPECT_LT(elapsed, 3.0);
  EXPECT_THAT(message, HasSubstr("no answer to request id 3 within 0.5 s"));
  EXPECT_THAT(message, HasSubstr("killed"));
  EXPECT_THAT(message, HasSubstr("hang.py"));
  EXPECT_TRUE(reaped(pid));
  EXPECT_THAT(error_of([&] { p.request_all({{{"id", 4}}}); }), HasSubstr("no longer running"));
}

TEST_F(JsonLinesProcessTest, DestructorKillsAChildThatIgnoresEof) {
  int pid = -1;
  const auto t0 = std::chrono::steady_clock::now();
  {
    JsonLinesProcess p(script("hang.py"));
    pid = p.pid();
  }
  const double elapsed = seconds_since(t0);
  EXPECT_GE(elapsed, 1.5);  // it waited ~2 s for a voluntary exit
  EXPECT_LT(elapsed, 6.0);
  EXPECT_TRUE(reaped(pid));
}

TEST_F(JsonLinesProcessTest, GarbageLineIsAnError) {
  JsonLinesProcess p(script("garbage.py"));
  const int pid = p.pid();
  const std::string message = error_of([&] { p.request({{"id", 1}}); });
  EXPECT_THAT(message, HasSubstr("not JSON"));
  EXPECT_THAT(message, HasSubstr("loading model weights... done"));
  EXPECT_THAT(message, HasSubstr("request id 1"));
  EXPECT_THAT(message, HasSubstr("stderr"));
  EXPECT_TRUE(reaped(pid));
}

TEST_F(JsonLinesProcessTest, AnswerThatIsNotAnObjectIsAnError) {
  JsonLinesProcess p(script("not_object.py"));
  EXPECT_THAT(error_of([&] { p.request({{"id", 1}}); }), HasSubstr("not a JSON object: [1,2,3]"));
}

TEST_F(JsonLinesProcessTest, EofWithoutAnswerIsAnError) {
  JsonLinesProcess p(script("noanswer.py"));
  const std::string message = error_of([&] { p.request({{"id", 5}}); });
  EXPECT_THAT(message, HasSubstr("closed its stdout without answering request id 5"));
  EXPECT_THAT(message, HasSubstr("exited with status 0"));
  EXPECT_THAT(message, HasSubstr("noanswer.py: nothing to say"));
}

TEST_F(JsonLinesProcessTest, WrongIdIsAnError) {
  JsonLinesProcess p(script("wrong_id.py"));
  const std::string message = error_of([&] { p.request_all({{{"id", 1}}, {{"id", 2}}}); });
  EXPECT_THAT(message, HasSubstr("request id 1 (1 of 2) carries id 2"));
}

TEST_F(JsonLinesProcessTest, ChildThatExitsWithoutReadingDoesNotKillUs) {
  // Writing megabytes to a child that has exited: EPIPE (no SIGPIPE death), reported as an exit.
  JsonLinesProcess p(script("exit_now.py"));
  std::vector<json> requests;
  for (int i = 0; i < 1000; ++i) requests.push_back({{"id", i}, {"pad", std::string(1000, 'x')}});
  const std::string message = error_of([&] { p.request_all(requests); });
  EXPECT_THAT(message, HasSubstr("exited with status 5"));
  EXPECT_THAT(message, HasSubstr("exit_now.py: refusing to work"));
  EXPECT_THAT(message, HasSubstr("request id 0 (1 of 1000)"));
}

TEST_F(JsonLinesProcessTest, UnserialisableRequestLeavesTheChildRunning) {
  JsonLinesProcess p(script("echo.py"));
  const std::string message = error_of([&] {
    p.request({{"id", 1}, {"bad", std::string("\xff\xfe")}});
  });
  EXPECT_THAT(message, HasSubstr("cannot send request id 1"));
  EXPECT_TRUE(p.running());
  EXPECT_EQ(p.request({{"id", 2}})["id"], 2);
}

TEST(JsonLinesProcessStart, CommandNotFoundNamesTheCommand) {
  JsonLinesProcessOptions o;
  o.command = {"caig-no-such-command-xyz", "--flag"};
  o.name = "my-rm";
  const auto t0 = std::chrono::steady_clock::now();
  const std::string message = error_of([&] { JsonLinesProcess p(o); });
  EXPECT_LT(seconds_since(t0), 2.0);
  EXPECT_THAT(message, HasSubstr("my-rm"));
  EXPECT_THAT(message, HasSubstr("'caig-no-such-command-xyz' was not found in PATH"));

  o.command = {"/nonexistent/dir/scorer"};
  EXPECT_THAT(error_of([&] { JsonLinesProcess p(o); }), HasSubstr("/nonexistent/dir/scorer"));

  o.command = {};
  EXPECT_THAT(error_of([&] { JsonLinesProcess p(o); }), HasSubstr("no command"));
}

TEST(JsonLinesProcessStart, NonExecutableFileAndBadWorkingDirAreStartErrors) {
  const fs::path dir = fresh_dir("noexec");
  const fs::path file = dir / "scorer.py";
  std::ofstream(file) << "print('hi')\n";
  fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write);
  JsonLinesProcessOptions o;
  o.command = {file.string()};
  EXPECT_THAT(error_of([&] { JsonLinesProcess p(o); }), HasSubstr("is not executable"));
  o.command = {"true"};
  o.working_dir = dir / "missing";
  EXPECT_THAT(error_of([&] { JsonLinesProcess p(o); }),
              HasSubstr("cannot change to working directory"));
  fs::remove_all(dir);
}

TEST_F(JsonLinesProcessTest, ExampleScorerPrefersTheLargerImage) {
  const fs::path dir = fresh_dir("example");
  std::ofstream(dir / "big.png", std::ios::binary) << std::string(30000, 'b');
  std::ofstream(dir / "small.png", std::ios::binary) << std::string(300, 's');
  JsonLinesProcessOptions o;
  o.command = {
      "python3",
      (fs::path(CAIG_SOURCE_DIR) / "examples" / "external_rm" / "example_scorer.py").string()};
  o.timeout_seconds = 10;
  JsonLinesProcess p(o);
  const json product = {{"product_id", "p1"},
                        {"category", "shoes"},
                        {"title", "Runner"},
                        {"attributes", {{"color", "red"}}}};
  auto pair = [&](int id, const char* left, const char* right) {
    return json{{"id", id},
                {"product", product},
                {"left", {{"image", (dir / left).string()}}},
                {"right", {{"image", (dir / right).string()}}}};
  };
  const auto answers =
      p.request_all({pair(10, "big.png", "small.png"), pair(11, "small.png", "big.png"),
                     pair(12, "big.png", "big.png")});
  ASSERT_EQ(answers.size(), 3u);
  for (size_t i = 0; i < answers.size(); ++i) {
    EXPECT_EQ(answers[i]["id"], 10 + static_cast<int>(i));
    const double p_left = answers[i]["p_left"].get<double>();
    EXPECT_GE(p_left, 0.0);
    EXPECT_LE(p_left, 1.0);
    for (const char* key : {"ctr_left", "ctr_right"}) {
      EXPECT_GT(answers[i][key].get<double>(), 0.0);
      EXPECT_LT(answers[i][key].get<double>(), 1.0);
    }
  }
  EXPECT_GT(answers[0]["p_left"].get<double>(), 0.9);  // the larger file wins
  EXPECT_LT(answers[1]["p_left"].get<double>(), 0.1);
  EXPECT_NEAR(answers[2]["p_left"].get<double>(), 0.5, 1e-9);
  EXPECT_GT(answers[0]["ctr_left"].get<double>(), answers[0]["ctr_right"].get<double>());
  fs::remove_all(dir);
}
