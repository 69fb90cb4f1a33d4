// `external`: a reward model living in another process (e.g. a Python / diffusers model), spoken
// to in JSON lines on stdin / stdout. The protocol is documented in the README and in
// examples/external_rm/README.md:
//   request  {"id": n, "product": {"product_id", "category", "title", "attributes"},
//             "left": {"image": "/abs/path.png"}, "right": {"image": "/abs/path.png"}}
//   response {"id": n, "p_left": P(left better) in [0, 1], "ctr_left"?: x, "ctr_right"?: y}
// The command is an argument list from the experiment file, started without a shell. A crash, a
// timeout, or a malformed or missing answer is an Error naming the request, never a silent 0.5.
#include <memory>

#include <fmt/format.h>

#include "harness/error.h"
#include "harness/json_fields.h"
#include "harness/json_lines_process.h"
#include "harness/plugins.h"
#include "rewards/register.h"
#include "rewards/reward_model.h"

namespace caig::rewards {

namespace {

// [reward_models.external] (harness/json_fields.h).
struct ExternalOptions {
  std::vector<std::string> command;  // the scorer's argument list, started without a shell
  double timeout_seconds = 30.0;     // per answer
  std::string working_dir;
  int64_t batch_size = 64;  // pairs per request batch
  bool has_ctr = false;     // the answers carry ctr_left / ctr_right
  template <class Self, class F>
  static void fields(Self& o, F&& f) {
    f("command", o.command);
    f("timeout_seconds", o.timeout_seconds);
    f("working_dir", o.working_dir);
    f("batch_size", o.batch_size);
    f("has_ctr", o.has_ctr);
  }
};

class ExternalRewardModel : public RewardModel {
 public:
  explicit ExternalRewardModel(const nlohmann::json& cfg) {
    const auto o = fields_from_json<ExternalOptions>(cfg, "reward model external");
    has_ctr_ = o.has_ctr;
    options_.command = o.command;
    options_.timeout_seconds = o.timeout_seconds;
    options_.working_dir = o.working_dir;
    options_.name = "external reward model";
    batch_ = o.batch_size;
    if (options_.command.empty())
      fail(
          "reward model external: 'command' is empty; set reward_models.external.command to "
          "the scorer's argument list, e.g. [\"python3\", \"scorer.py\"]");
    if (batch_ < 1) fail("reward model external: batch_size must be positive");
  }

  std::vector<double> prob_left(const AdSet& ads, const std::vector<PairIndex>& pairs) override {
    std::vector<double> p;
    for (const auto& a : ask(ads, pairs)) p.push_back(a.p_left);
    return p;
  }
  bool has_ctr() const override { return has_ctr_; }
  // Each ad asked against itself; the answer's ctr_left.
  std::vector<double> ctr(const AdSet& ads) override {
    if (!has_ctr_) return RewardModel::ctr(ads);
    std::vector<PairIndex> self;
    for (int64_t i = 0; i < ads.size(); ++i) self.push_back({i, i});
    std::vector<double> c;
    for (const auto& a : ask(ads, self)) c.push_back(a.ctr_left);
    return c;
  }
  nlohmann::json info() const override {
    return {{"command", options_.command}, {"requests", next_id_}};
  }

 private:
  struct Answer {
    double p_left = 0.5, ctr_left = 0.0;
  };

  static nlohmann::json ad_json(const AdInfo& a) {
    if (a.image_path.empty())
      fail("reward model external needs image files; an ad of product {} has none", a.product_id);
    return {{"image", a.image_path.string()}};
  }

  std::vector<Answer> ask(const AdSet& ads, const std::vector<PairIndex>& pairs) {
    if (!process_) process_ = std::make_unique<JsonLinesProcess>(options_);
    std::vector<Answer> out;
    for (size_t start = 0; start < pairs.size(); start += static_cast<size_t>(batch_)) {
      std::vector<nlohmann::json> requests;
      for (size_t i = start; i < std::min(pairs.size(), start + static_cast<size_t>(batch_)); ++i) {
        const AdInfo& l = ads.ads.at(static_cast<size_t>(pairs[i].left));
        const AdInfo& r = ads.ads.at(static_cast<size_t>(pairs[i].right));
        requests.push_back({{"id", next_id_++},
                            {"product",
                             {{"product_id", l.product_id},
                              {"category", l.category},
                              {"title", l.title},
                              {"attributes", l.attributes}}},
                            {"left", ad_json(l)},
                            {"right", ad_json(r)}});
      }
      const auto answers = process_->request_all(requests);
      for (size_t k = 0; k < answers.size(); ++k) out.push_back(parse(answers[k], requests[k]));
    }
    return out;
  }

  Answer parse(const nlohmann::json& a, const nlohmann::json& request) const {
    auto where = [&] {
      return fmt::format("request {} (product {}, left {}, right {})", request["id"].dump(),
                         request["product"]["product_id"].get<std::string>(),
                         request["left"]["image"].get<std::string>(),
                         request["right"]["image"].get<std::string>());
    };
    if (!a.contains("p_left") || !a["p_left"].is_number())
      fail("reward model external: the answer to {} has no numeric 'p_left': {}", where(),
           a.dump());
    Answer out;
    out.p_left = a["p_left"].get<double>();
    if (!(out.p_left >= 0.0 && out.p_left <= 1.0))
      fail("reward model external: the answer to {} has p_left = {}, outside [0, 1]", where(),
           out.p_left);
    if (has_ctr_) {
      if (!a.contains("ctr_left") || !a["ctr_left"].is_number())
        fail(
            "reward model external: has_ctr is set but the answer to {} has no numeric "
            "'ctr_left': {}",
            where(), a.dump());
      out.ctr_left = a["ctr_left"].get<double>();
    }
    return out;
  }

  JsonLinesProcessOptions options_;
  bool has_ctr_;
  int64_t batch_ = 64;
  int64_t next_id_ = 0;
  std::unique_ptr<JsonLinesProcess> process_;
};

}  // namespace

void register_external_rm(Plugins& p) {
  p.reward_models.add("external",
                      "your own reward model as a process speaking JSON lines on stdin/stdout "
                      "(see the README); started without a shell",
                      fields_to_json(ExternalOptions{}),
                      [](const nlohmann::json& cfg, const PluginContext&) {
                        return std::make_unique<ExternalRewardModel>(cfg);
                      });
}

}  // namespace caig::rewards
