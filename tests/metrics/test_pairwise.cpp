#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness/error.h"
#include "metrics/pairwise.h"

using namespace caig::metrics;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

PairPrediction pp(std::string product, std::string category, int label, int true_label,
                  double p_left, double p_left_swapped = kNaN) {
  PairPrediction p;
  p.product_id = std::move(product);
  p.category = std::move(category);
  p.label = label;
  p.true_label = true_label;
  p.p_left = p_left;
  p.p_left_swapped = p_left_swapped;
  return p;
}

// Five pairs over three products and three categories (one of them empty), used by several tests.
//   #  product category label true  p_left  swapped
//   0  a       shoes    0     0     0.8     0.3
//   1  a       shoes    1     0     0.4     0.7
//   2  b       bags     0     1     0.5     NaN     (model tie)
//   3  b       bags     1     2     0.1     0.6     (true tie)
//   4  c       ""       0     -1    0.3     0.5     (true unknown; swapped tie)
std::vector<PairPrediction> sample() {
  return {pp("a", "shoes", 0, 0, 0.8, 0.3), pp("a", "shoes", 1, 0, 0.4, 0.7),
          pp("b", "bags", 0, 1, 0.5), pp("b", "bags", 1, 2, 0.1, 0.6),
          pp("c", "", 0, -1, 0.3, 0.5)};
}

void expect_same(const AccuracySummary& a, const AccuracySummary& b) {
  EXPECT_EQ(a.pairs, b.pairs);
  EXPECT_EQ(a.correct, b.correct);
  EXPECT_EQ(a.ties, b.ties);
  EXPECT_EQ(a.excluded, b.excluded);
  EXPECT_DOUBLE_EQ(a.accuracy, b.accuracy);
  EXPECT_DOUBLE_EQ(a.accuracy_ties_half, b.accuracy_ties_half);
  EXPECT_DOUBLE_EQ(a.ci.estimate, b.ci.estimate);
  EXPECT_DOUBLE_EQ(a.ci.lo, b.ci.lo);
  EXPECT_DOUBLE_EQ(a.ci.hi, b.ci.hi);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const caig::Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(Pairwise, ObservedAccuracyByHand) {
  // Stored order against label: #0 0.8 -> left, label 0: correct. #1 0.4 -> right, label 1:
  // correct. #2 0.5 -> tie. #3 0.1 -> right, label 1: correct. #4 0.3 -> right, label 0: wrong.
  // pairs 5, correct 3, ties 1; accuracy 3/5 = 0.6; ties half (3 + 0.5) / 5 = 0.7.
  const auto s = observed_accuracy(sample());
  EXPECT_EQ(s.pairs, 5);
  EXPECT_EQ(s.correct, 3);
  EXPECT_EQ(s.ties, 1);
  EXPECT_EQ(s.excluded, 0);
  EXPECT_DOUBLE_EQ(s.accuracy, 0.6);
  EXPECT_DOUBLE_EQ(s.accuracy_ties_half, 0.7);
  EXPECT_DOUBLE_EQ(s.ci.estimate, 0.6);
  EXPECT_LE(s.ci.lo, s.ci.hi);
  EXPECT_GE(s.ci.lo, 0.0);
  EXPECT_LE(s.ci.hi, 1.0);
  EXPECT_EQ(s.seeds, 1);
  EXPECT_EQ(s.seed_sd, 0.0);
}

TEST(Pairwise, TrueAccuracyExcludesUnknownAndTrueTies) {
  // Against true_label: #0 0.8 -> left, true 0: correct. #1 0.4 -> right, true 0: wrong.
  // #2 tie (true 1): tie. #3 true 2 and #4 true -1: excluded.
  // pairs 3, correct 1, ties 1, excluded 2; accuracy 1/3; ties half (1 + 0.5) / 3 = 0.5.
  const auto s = true_accuracy(sample());
  EXPECT_EQ(s.pairs, 3);
  EXPECT_EQ(s.correct, 1);
  EXPECT_EQ(s.ties, 1);
  EXPECT_EQ(s.excluded, 2);
  EXPECT_DOUBLE_EQ(s.accuracy, 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(s.accuracy_ties_half, 0.5);
  EXPECT_EQ(s.to_json().at("excluded"), 2);

  // All excluded: nothing usable, empty-input values {0, 0, 1} with the count kept.
  const auto none = true_accuracy({pp("x", "", 0, -1, 0.9), pp("y", "", 1, 2, 0.2)});
  EXPECT_EQ(none.pairs, 0);
  EXPECT_EQ(none.excluded, 2);
  EXPECT_EQ(none.accuracy, 0.0);
  EXPECT_EQ(none.ci.estimate, 0.0);
  EXPECT_EQ(none.ci.lo, 0.0);
  EXPECT_EQ(none.ci.hi, 1.0);
}

TEST(Pairwise, TieTolerance) {
  // Default tie_eps 1e-9: |0.5 + 1e-12 - 0.5| ~ 1e-12 <= 1e-9 -> tie; exactly 0.5 -> tie.
  const std::vector<PairPrediction> near{pp("a", "", 0, 0, 0.5 + 1e-12), pp("a", "", 1, 1, 0.5)};
  const auto d = observed_accuracy(near);
  EXPECT_EQ(d.correct, 0);
  EXPECT_EQ(d.ties, 2);
  EXPECT_EQ(d.accuracy, 0.0);
  EXPECT_DOUBLE_EQ(d.accuracy_ties_half, 0.5);  // (0 + 0.5 * 2) / 2
  // tie_eps 0: 0.5 + 1e-12 > 0.5 picks left (label 0: correct); 0.5 is still a tie.
  PairwiseOptions exact;
  exact.tie_eps = 0.0;
  const auto e = observed_accuracy(near, exact);
  EXPECT_EQ(e.correct, 1);
  EXPECT_EQ(e.ties, 1);
  EXPECT_DOUBLE_EQ(e.accuracy, 0.5);             // 1 / 2
  EXPECT_DOUBLE_EQ(e.accuracy_ties_half, 0.75);  // (1 + 0.5) / 2
  // tie_eps 0.1: |0.55 - 0.5| = 0.05 <= 0.1 -> tie; |0.7 - 0.5| = 0.2 > 0.1 -> left, correct;
  // |0.2 - 0.5| = 0.3 -> right, label 0: wrong. correct 1, ties 1 of 3.
  PairwiseOptions wide;
  wide.tie_eps = 0.1;
  const auto w = observed_accuracy(
      {pp("a", "", 0, 0, 0.55), pp("a", "", 0, 0, 0.7), pp("a", "", 0, 0, 0.2)}, wide);
  EXPECT_EQ(w.correct, 1);
  EXPECT_EQ(w.ties, 1);
  EXPECT_DOUBLE_EQ(w.accuracy, 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(w.accuracy_ties_half, 0.5);  // (1 + 0.5) / 3
}

TEST(Pairwise, EmptyInput) {
  const std::vector<PairPrediction> none;
  for (const auto& s : {observed_accuracy(none), true_accuracy(none)}) {
    EXPECT_EQ(s.pairs, 0);
    EXPECT_EQ(s.correct, 0);
    EXPECT_EQ(s.ties, 0);
    EXPECT_EQ(s.accuracy, 0.0);
    EXPECT_EQ(s.accuracy_ties_half, 0.0);
    EXPECT_EQ(s.ci.estimate, 0.0);  // documented choice: {0, 0, 1}
    EXPECT_EQ(s.ci.lo, 0.0);
    EXPECT_EQ(s.ci.hi, 1.0);
  }
  const auto o = both_orders(none);
  EXPECT_EQ(o.evaluated, 0);
  EXPECT_EQ(o.both.pairs, 0);
  EXPECT_EQ(o.both.excluded, 0);
  EXPECT_EQ(o.position_bias, 0.0);
  EXPECT_EQ(o.consistency, 0.0);
  EXPECT_EQ(pairwise_auc(none), 0.5);
  EXPECT_TRUE(accuracy_by_category(none).empty());
  const auto j = evaluate_pairs(none);
  EXPECT_TRUE(j.at("by_category").is_object());
  EXPECT_TRUE(j.at("by_category").empty());
  EXPECT_EQ(j.at("auc"), 0.5);
  EXPECT_EQ(j.at("observed").at("pairs"), 0);
  EXPECT_EQ(j.at("observed").at("ci").at("hi"), 1.0);
}

TEST(Pairwise, SingleProductHasNoBootstrapSpread) {
  // One product: every replicate draws the same product, so lo = hi = estimate.
  // correct: 0.9 vs label 0 yes, 0.2 vs label 1 yes, 0.7 vs label 1 no -> 2/3.
  const std::vector<PairPrediction> one{pp("p", "x", 0, 0, 0.9), pp("p", "x", 1, 1, 0.2),
                                        pp("p", "x", 1, 1, 0.7)};
  const auto s = observed_accuracy(one);
  EXPECT_DOUBLE_EQ(s.accuracy, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(s.ci.lo, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(s.ci.hi, 2.0 / 3.0);
}

TEST(Pairwise, BootstrapResamplesProductsNotPairs) {
  // Product A: 3 pairs, all correct; product B: 1 pair, wrong. Accuracy 3/4 = 0.75.
  // Resampling 2 products: AA -> 6/6 = 1 (prob 1/4), AB -> 3/4 (1/2), BB -> 0/2 = 0 (1/4).
  // With 1000 replicates about 250 are 0 and 250 are 1, so the 2.5% and 97.5% quantiles are
  // exactly 0 and 1. (Resampling the 4 pairs instead would give 0 with probability
  // (1/4)^4 < 2.5%, so lo would be above 0.)
  const std::vector<PairPrediction> v{pp("A", "", 0, 0, 0.9), pp("A", "", 0, 0, 0.8),
                                      pp("A", "", 1, 1, 0.1), pp("B", "", 0, 0, 0.2)};
  const auto s = observed_accuracy(v);
  EXPECT_DOUBLE_EQ(s.accuracy, 0.75);
  EXPECT_EQ(s.ci.lo, 0.0);
  EXPECT_EQ(s.ci.hi, 1.0);
  // Same seed, same interval; products need not be contiguous.
  const std::vector<PairPrediction> shuffled{v[0], v[3], v[1], v[2]};
  const auto t = observed_accuracy(shuffled);
  EXPECT_EQ(t.ci.lo, 0.0);
  EXPECT_EQ(t.ci.hi, 1.0);
}

TEST(Pairwise, BootstrapIsDeterministicAndSeeded) {
  // 20 products of 3 pairs; label alternates; p_left is 0.3 (says "right") for every fifth pair and
  // otherwise points at the labelled ad (0.8 for label 0, 0.2 for label 1). No ties.
  std::vector<PairPrediction> v;
  for (int i = 0; i < 60; ++i) {
    const int label = i % 2;
    const double p = i % 5 == 0 ? 0.3 : (label == 0 ? 0.8 : 0.2);
    v.push_back(pp("p" + std::to_string(i / 3), "", label, -1, p));
  }
  PairwiseOptions o;
  o.seed = 11;
  const auto a = observed_accuracy(v, o);
  const auto b = observed_accuracy(v, o);
  EXPECT_EQ(a.ci.lo, b.ci.lo);
  EXPECT_EQ(a.ci.hi, b.ci.hi);
  EXPECT_LE(a.ci.lo, a.accuracy);
  EXPECT_GE(a.ci.hi, a.accuracy);
  EXPECT_LT(a.ci.lo, a.ci.hi);
  // The bootstrap is bootstrap_ratio over (correct, pairs) per product, seeded with options.seed.
  std::vector<std::pair<double, double>> groups;
  for (int g = 0; g < 20; ++g) {
    double c = 0;
    for (int k = 0; k < 3; ++k) {
      const auto& p = v[static_cast<size_t>(3 * g + k)];
      c += (p.label == 0) == (p.p_left > 0.5);
    }
    groups.push_back({c, 3.0});
  }
  const auto r = bootstrap_ratio(groups, o.bootstrap, o.seed, o.level);
  EXPECT_DOUBLE_EQ(a.ci.lo, r.lo);
  EXPECT_DOUBLE_EQ(a.ci.hi, r.hi);
}

TEST(Pairwise, AllSameLabel) {
  // All label 0, every p_left 0.7 -> left: accuracy 3/3 = 1; AUC has no negatives -> 0.5.
  const std::vector<PairPrediction> v{pp("a", "", 0, 0, 0.7), pp("b", "", 0, 0, 0.7),
                                      pp("c", "", 0, 0, 0.7)};
  const auto s = observed_accuracy(v);
  EXPECT_DOUBLE_EQ(s.accuracy, 1.0);
  EXPECT_DOUBLE_EQ(s.ci.lo, 1.0);  // every product is 1/1
  EXPECT_DOUBLE_EQ(s.ci.hi, 1.0);
  EXPECT_EQ(pairwise_auc(v), 0.5);
  // All label 1: no positives -> 0.5 as well.
  EXPECT_EQ(pairwise_auc({pp("a", "", 1, 1, 0.2), pp("b", "", 1, 1, 0.9)}), 0.5);
}

TEST(Pairwise, BothOrdersByHand) {
  // Pairs with a swapped evaluation: #0, #1, #3, #4 (evaluated 4; #2 not evaluated).
  //   #0 stored 0.8 vs label 0: correct; swapped 0.3 vs 1 - 0 = 1: right, correct. Consistent.
  //   #1 stored 0.4 vs 1: correct; swapped 0.7 vs 0: left, correct. Consistent.
  //   #3 stored 0.1 vs 1: correct; swapped 0.6 vs 0: correct. Consistent.
  //   #4 stored 0.3 vs 0: wrong; swapped 0.5: tie. Inconsistent.
  // predictions 8, correct 6, ties 1: accuracy 6/8 = 0.75, ties half 6.5/8 = 0.8125.
  // bias: (0.8+0.3)/2-0.5 = 0.05, (0.4+0.7)/2-0.5 = 0.05, (0.1+0.6)/2-0.5 = -0.15,
  //       (0.3+0.5)/2-0.5 = -0.1; mean = -0.15 / 4 = -0.0375. consistency 3/4.
  const auto o = both_orders(sample());
  EXPECT_EQ(o.evaluated, 4);
  EXPECT_EQ(o.both.pairs, 8);
  EXPECT_EQ(o.both.correct, 6);
  EXPECT_EQ(o.both.ties, 1);
  EXPECT_EQ(o.both.excluded, 1);
  EXPECT_DOUBLE_EQ(o.both.accuracy, 0.75);
  EXPECT_DOUBLE_EQ(o.both.accuracy_ties_half, 0.8125);
  EXPECT_NEAR(o.position_bias, -0.0375, 1e-12);
  EXPECT_DOUBLE_EQ(o.consistency, 0.75);
  const auto j = o.to_json();
  EXPECT_EQ(j.at("evaluated"), 4);
  EXPECT_EQ(j.at("both").at("pairs"), 8);

  // A model that always says "left" (0.9 in both orders): position bias 0.9 - 0.5 = 0.4,
  // never consistent; one of the two predictions of each pair is right: accuracy 2/4 = 0.5.
  const auto left = both_orders({pp("a", "", 0, 0, 0.9, 0.9), pp("b", "", 1, 1, 0.9, 0.9)});
  EXPECT_DOUBLE_EQ(left.position_bias, 0.4);
  EXPECT_EQ(left.consistency, 0.0);
  EXPECT_DOUBLE_EQ(left.both.accuracy, 0.5);

  // Ties in one order are inconsistent even if the other order is right: 0.5 / 0.2.
  const auto tie = both_orders({pp("a", "", 0, 0, 0.5, 0.2)});
  EXPECT_EQ(tie.consistency, 0.0);
  EXPECT_EQ(tie.both.correct, 1);  // swapped 0.2 -> right, swapped label 1: correct
  EXPECT_EQ(tie.both.ties, 1);
  // Single product: no spread, lo = hi = 1/2.
  EXPECT_DOUBLE_EQ(tie.both.ci.lo, 0.5);
  EXPECT_DOUBLE_EQ(tie.both.ci.hi, 0.5);

  // No swapped evaluations at all.
  const auto none = both_orders({pp("a", "", 0, 0, 0.9), pp("b", "", 1, 1, 0.2)});
  EXPECT_EQ(none.evaluated, 0);
  EXPECT_EQ(none.both.pairs, 0);
  EXPECT_EQ(none.both.excluded, 2);
  EXPECT_EQ(none.position_bias, 0.0);
  EXPECT_EQ(none.consistency, 0.0);
  EXPECT_EQ(none.both.ci.lo, 0.0);
  EXPECT_EQ(none.both.ci.hi, 1.0);
}

TEST(Pairwise, AucByHand) {
  // sample(): positives (label 0) scores 0.8, 0.5, 0.3; negatives 0.4, 0.1.
  // Sorted: 0.1(1) 0.3(2) 0.4(3) 0.5(4) 0.8(5); positive rank sum 5 + 4 + 2 = 11;
  // U = 11 - 3*4/2 = 5; AUC = 5 / (3*2) = 5/6. (Pairwise: 0.8>0.4, 0.8>0.1, 0.5>0.4, 0.5>0.1,
  // 0.3<0.4, 0.3>0.1 -> 5 of 6.)
  EXPECT_DOUBLE_EQ(pairwise_auc(sample()), 5.0 / 6.0);
  // Tied scores count half: positives 0.6, 0.5; negatives 0.5, 0.2.
  // Ranks: 0.2(1), 0.5 and 0.5 share (2+3)/2 = 2.5, 0.6(4); positive rank sum 4 + 2.5 = 6.5;
  // U = 6.5 - 2*3/2 = 3.5; AUC = 3.5 / 4 = 0.875.
  EXPECT_DOUBLE_EQ(pairwise_auc({pp("a", "", 0, 0, 0.6), pp("a", "", 0, 0, 0.5),
                                 pp("a", "", 1, 1, 0.5), pp("a", "", 1, 1, 0.2)}),
                   0.875);
  // All scores equal: every comparison is a tie -> 0.5. Perfectly reversed scores -> 0.
  EXPECT_DOUBLE_EQ(
      pairwise_auc({pp("a", "", 0, 0, 0.5), pp("a", "", 1, 1, 0.5), pp("a", "", 1, 1, 0.5)}), 0.5);
  EXPECT_DOUBLE_EQ(pairwise_auc({pp("a", "", 0, 0, 0.1), pp("a", "", 1, 1, 0.9)}), 0.0);
}

TEST(Pairwise, ByCategory) {
  // shoes: #0, #1 both correct -> 2/2 = 1 (one product: lo = hi = 1).
  // bags: #2 tie, #3 correct -> 1/2, ties half (1 + 0.5)/2 = 0.75 (one product: lo = hi = 0.5).
  // "": #4 wrong -> 0/1 (lo = hi = 0). No other categories appear.
  const auto m = accuracy_by_category(sample());
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m.count("hats"), 0u);
  const auto& shoes = m.at("shoes");
  EXPECT_EQ(shoes.pairs, 2);
  EXPECT_DOUBLE_EQ(shoes.accuracy, 1.0);
  EXPECT_DOUBLE_EQ(shoes.ci.lo, 1.0);
  EXPECT_DOUBLE_EQ(shoes.ci.hi, 1.0);
  const auto& bags = m.at("bags");
  EXPECT_EQ(bags.pairs, 2);
  EXPECT_EQ(bags.ties, 1);
  EXPECT_DOUBLE_EQ(bags.accuracy, 0.5);
  EXPECT_DOUBLE_EQ(bags.accuracy_ties_half, 0.75);
  EXPECT_DOUBLE_EQ(bags.ci.lo, 0.5);
  EXPECT_DOUBLE_EQ(bags.ci.hi, 0.5);
  const auto& blank = m.at("");
  EXPECT_EQ(blank.pairs, 1);
  EXPECT_EQ(blank.correct, 0);
  EXPECT_EQ(blank.accuracy, 0.0);
  EXPECT_EQ(blank.ci.lo, 0.0);
  EXPECT_EQ(blank.ci.hi, 0.0);
  // A category's summary is observed_accuracy of its pairs alone.
  const auto s = sample();
  expect_same(m.at("bags"), observed_accuracy({s[2], s[3]}));
}

TEST(Pairwise, EvaluatePairsJson) {
  const auto j = evaluate_pairs(sample());
  for (const char* key : {"observed", "true", "both_orders", "auc", "by_category"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j.size(), 5u);
  EXPECT_EQ(j.at("observed").at("correct"), 3);  // as ObservedAccuracyByHand
  EXPECT_DOUBLE_EQ(j.at("observed").at("accuracy").get<double>(), 0.6);
  EXPECT_EQ(j.at("true").at("pairs"), 3);  // as TrueAccuracyExcludesUnknownAndTrueTies
  EXPECT_EQ(j.at("true").at("excluded"), 2);
  EXPECT_DOUBLE_EQ(j.at("both_orders").at("consistency").get<double>(), 0.75);
  EXPECT_DOUBLE_EQ(j.at("auc").get<double>(), 5.0 / 6.0);
  EXPECT_EQ(j.at("by_category").size(), 3u);
  EXPECT_TRUE(j.at("by_category").contains(""));
  EXPECT_DOUBLE_EQ(j.at("by_category").at("bags").at("accuracy").get<double>(), 0.5);
  const auto& ci = j.at("observed").at("ci");
  EXPECT_DOUBLE_EQ(ci.at("estimate").get<double>(), 0.6);
  EXPECT_TRUE(ci.contains("lo"));
  EXPECT_TRUE(ci.contains("hi"));
}

TEST(Pairwise, InvalidInputNamesPairAndProduct) {
  auto v = sample();
  v[3].label = 2;
  EXPECT_THAT(error_of([&] { observed_accuracy(v); }),
              ::testing::AllOf(::testing::HasSubstr("pair 3"), ::testing::HasSubstr("'b'"),
                               ::testing::HasSubstr("label")));
  v = sample();
  v[1].p_left = kNaN;
  EXPECT_THAT(error_of([&] { true_accuracy(v); }),
              ::testing::AllOf(::testing::HasSubstr("pair 1"), ::testing::HasSubstr("'a'")));
  v = sample();
  v[4].p_left = 1.5;
  EXPECT_THAT(error_of([&] { pairwise_auc(v); }),
              ::testing::AllOf(::testing::HasSubstr("pair 4"), ::testing::HasSubstr("'c'")));
  v = sample();
  v[0].p_left_swapped = -0.1;
  EXPECT_THROW(both_orders(v), caig::Error);
  v = sample();
  v[0].true_label = 3;
  EXPECT_THROW(evaluate_pairs(v), caig::Error);
  // Bounds are valid.
  EXPECT_NO_THROW(observed_accuracy({pp("a", "", 0, 0, 0.0, 1.0), pp("a", "", 1, 1, 1.0)}));
  PairwiseOptions bad;
  bad.bootstrap = 0;
  EXPECT_THROW(observed_accuracy(sample(), bad), caig::Error);
  bad = {};
  bad.level = 1.0;
  EXPECT_THROW(observed_accuracy(sample(), bad), caig::Error);
  bad = {};
  bad.tie_eps = -1;
  EXPECT_THROW(observed_accuracy(sample(), bad), caig::Error);
}

TEST(Pairwise, PooledSeedsByHand) {
  // Seed A = sample(): observed 3/5 = 0.6 (ties half 0.7); true 1/3.
  // Seed B: same pairs, p_left 0.9 where label 0 and 0.2 where label 1: observed 5/5 = 1.
  //   true: #0 0.9 vs true 0 correct; #1 0.2 vs true 0 wrong; #2 0.9 vs true 1 wrong -> 1/3.
  const auto a = sample();
  auto b = sample();
  for (auto& p : b) p.p_left = p.label == 0 ? 0.9 : 0.2;
  const auto obs = pooled_seeds_accuracy({a, b}, {}, false);
  // mean(0.6, 1) = 0.8; sd = sqrt((0.2^2 + 0.2^2) / 1) = sqrt(0.08); summed counts: pairs 10,
  // correct 3 + 5 = 8 (8/10 = 0.8), ties 1 + 0; ties half mean(0.7, 1) = 0.85 = (8 + 0.5)/10.
  EXPECT_EQ(obs.seeds, 2);
  EXPECT_DOUBLE_EQ(obs.accuracy, 0.8);
  EXPECT_NEAR(obs.seed_sd, std::sqrt(0.08), 1e-12);
  EXPECT_EQ(obs.pairs, 10);
  EXPECT_EQ(obs.correct, 8);
  EXPECT_EQ(obs.ties, 1);
  EXPECT_DOUBLE_EQ(obs.accuracy_ties_half, 0.85);
  EXPECT_DOUBLE_EQ(obs.ci.estimate, 0.8);
  EXPECT_LE(obs.ci.lo, obs.ci.hi);
  const auto tru = pooled_seeds_accuracy({a, b}, {}, true);
  // mean(1/3, 1/3) = 1/3, sd 0; pairs 3 + 3, excluded 2 + 2.
  EXPECT_DOUBLE_EQ(tru.accuracy, 1.0 / 3.0);
  EXPECT_NEAR(tru.seed_sd, 0.0, 1e-15);
  EXPECT_EQ(tru.pairs, 6);
  EXPECT_EQ(tru.excluded, 4);
  EXPECT_EQ(tru.to_json().at("seeds"), 2);
}

TEST(Pairwise, PooledSeedsOneSeedEqualsSingleEvaluation) {
  const auto a = sample();
  expect_same(pooled_seeds_accuracy({a}, {}, false), observed_accuracy(a));
  expect_same(pooled_seeds_accuracy({a}, {}, true), true_accuracy(a));
  EXPECT_EQ(pooled_seeds_accuracy({a}, {}, false).seed_sd, 0.0);
  EXPECT_EQ(pooled_seeds_accuracy({a}, {}, false).seeds, 1);
}

TEST(Pairwise, PooledSeedsResampleProductsJointly) {
  // Products A and B, one pair each. Seed 1: A right, B wrong; seed 2: A wrong, B right.
  // Each product's seed-mean is (1 + 0)/2 = 0.5, so with one resample of products applied to
  // both seeds every replicate is 0.5: lo = hi = 0.5. (Resampling each seed on its own would
  // spread the interval to [0, 1].) Per seed accuracy 1/2 each: mean 0.5, sd 0.
  const std::vector<PairPrediction> s1{pp("A", "", 0, 0, 0.9), pp("B", "", 0, 0, 0.1)};
  const std::vector<PairPrediction> s2{pp("A", "", 0, 0, 0.1), pp("B", "", 0, 0, 0.9)};
  const auto r = pooled_seeds_accuracy({s1, s2}, {}, false);
  EXPECT_DOUBLE_EQ(r.accuracy, 0.5);
  EXPECT_EQ(r.seed_sd, 0.0);
  EXPECT_DOUBLE_EQ(r.ci.lo, 0.5);
  EXPECT_DOUBLE_EQ(r.ci.hi, 0.5);
  // Each seed alone: AA -> 1, AB -> 0.5, BB -> 0, each quarter of 1000 replicates -> [0, 1].
  const auto one = observed_accuracy(s1);
  EXPECT_EQ(one.ci.lo, 0.0);
  EXPECT_EQ(one.ci.hi, 1.0);
}

TEST(Pairwise, PooledSeedsRejectsMismatchedSeeds) {
  const auto a = sample();
  auto shorter = a;
  shorter.pop_back();
  EXPECT_THROW(pooled_seeds_accuracy({a, shorter}, {}, false), caig::Error);
  auto renamed = a;
  renamed[2].product_id = "z";
  EXPECT_THAT(error_of([&] {
                pooled_seeds_accuracy({a, renamed}, {}, false);
              }),
              ::testing::AllOf(::testing::HasSubstr("pair 2"), ::testing::HasSubstr("'z'"),
                               ::testing::HasSubstr("'b'")));
  auto relabelled = a;
  relabelled[0].label = 1;
  EXPECT_THROW(pooled_seeds_accuracy({a, relabelled}, {}, false), caig::Error);
  EXPECT_THROW(pooled_seeds_accuracy({}, {}, false), caig::Error);
  auto invalid = a;
  invalid[1].p_left = -0.5;
  EXPECT_THROW(pooled_seeds_accuracy({a, invalid}, {}, false), caig::Error);
}
