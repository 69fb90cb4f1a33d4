// Figures: a data file and a gnuplot script kept side by side (so a user can restyle and re-run
// them), rendered to PNG and SVG by gnuplot. Everything lands in `dir` at once or not at all.
#pragma once

#include <filesystem>
#include <string>

namespace caig::reports {

struct Figure {
  std::string stem;  // files: <stem>.dat, <stem>.gp, <stem>.png, <stem>.svg
  std::string data;  // contents of <stem>.dat
  // The plotting commands, reading '<stem>.dat' by relative name; terminal and output lines for
  // PNG and SVG are added around them.
  std::string plot;
  int width = 900, height = 450;
  // The plot is a multiplot (several panels): the SVG runs the commands again instead of
  // `replot`, which repeats only the last panel.
  bool multiplot = false;
};

// Writes <stem>.dat and <stem>.gp and runs gnuplot (found in PATH, started without a shell) in a
// staging directory, then moves the four files into dir. A missing gnuplot or a failing script is
// an Error naming the script and quoting gnuplot's message.
void render_figure(const std::filesystem::path& dir, const Figure& figure);

}  // namespace caig::reports
