// `external`: a renderer living in another process, e.g. a Stable Diffusion + ControlNet
// inpainting pipeline in Python, spoken to in JSON lines on stdin / stdout (README, "External
// renderer"; examples/external_renderer/):
//   request  {"id": n, "product": "/abs/product.png", "mask": "/abs/mask.png",
//             "description": "...", "seed": s, "size": S, "output": "/abs/ad.png"}
//   answer   {"id": n, "image": "/abs/ad.png"}
// `product` is the cut-out already placed as CAIG's pipeline places it (scaled to product_scale of
// an S x S canvas and centred; RGBA, transparent outside the product) and `mask` its 8-bit mask
// (255 on the product); the program writes an S x S ad to `image` (normally `output`). A crash, a
// timeout, a missing, undecodable or wrongly sized image is an Error naming the request.
#include <atomic>
#include <memory>

#include <fmt/format.h>
#include <unistd.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "datasets/register.h"
#include "datasets/renderer_plugin.h"
#include "harness/error.h"
#include "harness/json_fields.h"
#include "harness/json_lines_process.h"
#include "harness/plugins.h"

namespace fs = std::filesystem;

namespace caig::datasets {

namespace {

struct ExternalRendererOptions {
  std::vector<std::string> command;  // the program's argument list, started without a shell
  double timeout_seconds = 120.0;    // per answer
  std::string working_dir;           // of the program; empty: inherit
  std::string work_dir;  // where request files are written; empty: a fresh temporary folder
  int64_t image_size = 64;
  double product_scale = 0.78;
  bool keep_files = false;  // keep the request and answer images (for debugging)
  template <class Self, class F>
  static void fields(Self& o, F&& f) {
    f("command", o.command);
    f("timeout_seconds", o.timeout_seconds);
    f("working_dir", o.working_dir);
    f("work_dir", o.work_dir);
    f("image_size", o.image_size);
    f("product_scale", o.product_scale);
    f("keep_files", o.keep_files);
  }
};

class ExternalRenderer : public Renderer {
 public:
  explicit ExternalRenderer(const nlohmann::json& cfg)
      : opt_(fields_from_json<ExternalRendererOptions>(cfg, "renderers.external")) {
    if (opt_.command.empty())
      fail(
          "renderer external: 'command' is empty; set renderers.external.command to the "
          "program's argument list, e.g. [\"python3\", \"render.py\"]");
    if (opt_.image_size < 8) fail("renderer external: image_size must be >= 8");
    if (!(opt_.product_scale > 0 && opt_.product_scale <= 1))
      fail("renderer external: product_scale must be in (0, 1]");
    static std::atomic<int> instances{0};
    if (opt_.work_dir.empty()) {
      dir_ = fs::temp_directory_path() /
             fmt::format("caig-render-{}-{}", static_cast<long>(::getpid()), instances++);
      owns_dir_ = true;
    } else {
      dir_ = fs::absolute(opt_.work_dir);
    }
    fs::create_directories(dir_);
    process_opt_.command = opt_.command;
    process_opt_.timeout_seconds = opt_.timeout_seconds;
    process_opt_.working_dir = opt_.working_dir;
    process_opt_.name = "external renderer";
  }
  ~ExternalRenderer() override {
    std::error_code ec;
    if (owns_dir_ && !opt_.keep_files) fs::remove_all(dir_, ec);
  }

  world::RenderedAd render(const cv::Mat& product_rgba, const std::string& description,
                           uint64_t seed) override {
    return render_all({RenderJob{&product_rgba, description, seed}}).front();
  }

  std::vector<world::RenderedAd> render_all(const std::vector<RenderJob>& jobs) override {
    if (!process_) process_ = std::make_unique<JsonLinesProcess>(process_opt_);
    world::RenderOptions ro;
    ro.image_size = static_cast<int>(opt_.image_size);
    ro.product_scale = opt_.product_scale;
    std::vector<nlohmann::json> requests;
    std::vector<cv::Mat> masks;
    for (const auto& job : jobs) {
      if (job.product_rgba == nullptr || job.product_rgba->type() != CV_8UC4)
        fail("renderer external: a product cut-out must be an 8-bit RGBA image");
      const int64_t id = next_id_++;
      const cv::Mat placed = world::place_product(*job.product_rgba, ro);
      cv::Mat alpha, mask;
      cv::extractChannel(placed, alpha, 3);
      cv::threshold(alpha, mask, 127, 255, cv::THRESH_BINARY);
      const auto stem = dir_ / fmt::format("request{}", id);
      const auto product = stem.string() + "_product.png", mask_path = stem.string() + "_mask.png";
      if (!cv::imwrite(product, placed) || !cv::imwrite(mask_path, mask))
        fail("renderer external: cannot write the request files under {}", dir_.string());
      requests.push_back({{"id", id},
                          {"product", product},
                          {"mask", mask_path},
                          {"description", job.description},
                          {"seed", job.seed},
                          {"size", opt_.image_size},
                          {"output", stem.string() + "_ad.png"}});
      masks.push_back(mask);
    }
    const auto answers = process_->request_all(requests);
    std::vector<world::RenderedAd> out;
    for (size_t k = 0; k < answers.size(); ++k) {
      const auto& q = requests[k];
      const auto where = [&] {
        return fmt::format("request {} (description '{}', seed {})", q["id"].dump(),
                           q["description"].get<std::string>(), q["seed"].dump());
      };
      const auto& a = answers[k];
      if (!a.contains("image") || !a["image"].is_string())
        fail("renderer external: the answer to {} has no 'image' path: {}", where(), a.dump());
      const auto path = a["image"].get<std::string>();
      if (!fs::exists(path))
        fail("renderer external: the answer to {} names '{}', which does not exist", where(), path);
      cv::Mat image = cv::imread(path, cv::IMREAD_COLOR);
      if (image.empty())
        fail("renderer external: the image '{}' answering {} cannot be decoded", path, where());
      if (image.rows != opt_.image_size || image.cols != opt_.image_size)
        fail("renderer external: the image '{}' answering {} is {} x {}, not {} x {}", path,
             where(), image.cols, image.rows, opt_.image_size, opt_.image_size);
      if (!opt_.keep_files) {
        std::error_code ec;
        fs::remove(q["product"].get<std::string>(), ec);
        fs::remove(q["mask"].get<std::string>(), ec);
        fs::remove(q["output"].get<std::string>(), ec);
        if (path != q["output"].get<std::string>() && fs::path(path).parent_path() == dir_)
          fs::remove(path, ec);
      }
      out.push_back({image, masks[k]});
    }
    return out;
  }

 private:
  ExternalRendererOptions opt_;
  JsonLinesProcessOptions process_opt_;
  fs::path dir_;
  bool owns_dir_ = false;
  int64_t next_id_ = 0;
  std::unique_ptr<JsonLinesProcess> process_;
};

}  // namespace

void register_external_renderer(Plugins& p) {
  p.renderers.add("external",
                  "your own renderer (e.g. SD + ControlNet inpainting) as a process speaking "
                  "JSON lines: placed product cut-out, mask, description, seed, size -> ad image "
                  "(see the README); started without a shell",
                  fields_to_json(ExternalRendererOptions{}),
                  [](const nlohmann::json& cfg, const PluginContext&) {
                    return std::make_unique<ExternalRenderer>(cfg);
                  });
}

}  // namespace caig::datasets
