// Learning-rate schedules: each sequence equals torch.optim.lr_scheduler's (1.13.1) from
// tests/fixtures/schedules.txt over two groups (lr 0.1 and 0.02): step, multi-step and
// exponential bit for bit, reduce-on-plateau bit for bit, cosine with warm-up to 1e-12
// relative against SequentialLR(LinearLR, CosineAnnealingLR); plus the tail and the errors.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "engine/optim/lr_scheduler.h"
#include "engine/optim/sgd.h"
#include "tests/support/expect_error.h"

namespace signet {
namespace {

using optim::ParamGroup;
using testing::expect_error;

// The parsed schedule fixture: per case its kind, options, metrics and lr sequences.
struct ScheduleCase {
  std::string kind;
  std::map<std::string, std::string> cfg;
  std::vector<double> metrics;
  std::vector<double> lr[2];
};

// The doubles of tokens[from..].
std::vector<double> numbers(const std::vector<std::string>& tokens, size_t from) {
  std::vector<double> v;
  for (size_t i = from; i < tokens.size(); ++i) v.push_back(std::stod(tokens[i]));
  return v;
}

// Parses schedules.txt (next to this file) once.
const std::map<std::string, ScheduleCase>& cases() {
  static const std::map<std::string, ScheduleCase> all = [] {
    std::map<std::string, ScheduleCase> out;
    std::string here = __FILE__;
    std::string path = here.substr(0, here.find_last_of('/') + 1) + "fixtures/schedules.txt";
    std::ifstream in(path);
    EXPECT_TRUE(in.good()) << "cannot open " << path;
    for (std::string line; std::getline(in, line);) {
      std::istringstream s(line);
      std::vector<std::string> tok;
      for (std::string t; s >> t;) tok.push_back(t);
      if (tok.size() < 2) continue;
      ScheduleCase& c = out[tok[1]];
      if (tok[0] == "case") {
        c.kind = tok[2];
        for (size_t i = 3; i < tok.size(); ++i) {
          size_t eq = tok[i].find('=');
          c.cfg[tok[i].substr(0, eq)] = tok[i].substr(eq + 1);
        }
      } else if (tok[0] == "metrics") {
        c.metrics = numbers(tok, 2);
      } else if (tok[0] == "lr") {
        c.lr[std::stoi(tok[2])] = numbers(tok, 3);
      }
    }
    return out;
  }();
  return all;
}

// An SGD optimiser over two one-element groups with lr 0.1 and 0.02.
struct TwoGroups {
  Tensor a = zeros({1}).requires_grad_(), b = zeros({1}).requires_grad_();
  optim::Sgd opt{{ParamGroup{{{"a", a}}, 0.1, {}, false}, ParamGroup{{{"b", b}}, 0.02, {}, false}},
                 {0.1}};
};

// The integer option of a case ("3.0" -> 3).
int64_t as_int(const ScheduleCase& c, const char* key) {
  return static_cast<int64_t>(std::stod(c.cfg.at(key)));
}

// The lrs of both groups at construction and after each of `epochs` steps of a schedule.
std::vector<std::vector<double>> run_epoch_schedule(const std::string& name) {
  const ScheduleCase& c = cases().at(name);
  TwoGroups t;
  std::unique_ptr<optim::LrScheduler> s;
  const double gamma = c.cfg.count("gamma") ? std::stod(c.cfg.at("gamma")) : 0;
  if (c.kind == "step") {
    s = std::make_unique<optim::StepLr>(t.opt, as_int(c, "step_size"), gamma);
  } else if (c.kind == "multistep") {
    std::vector<int64_t> milestones;
    std::istringstream m(c.cfg.at("milestones"));
    for (std::string v; std::getline(m, v, ',');) milestones.push_back(std::stoll(v));
    s = std::make_unique<optim::MultiStepLr>(t.opt, milestones, gamma);
  } else if (c.kind == "exponential") {
    s = std::make_unique<optim::ExponentialLr>(t.opt, gamma);
  } else {
    s = std::make_unique<optim::CosineWarmupLr>(t.opt, as_int(c, "warmup"), as_int(c, "total"),
                                                std::stod(c.cfg.at("start_factor")),
                                                std::stod(c.cfg.at("eta_min")));
  }
  std::vector<std::vector<double>> out(2);
  for (size_t e = 0; e < c.lr[0].size(); ++e) {
    if (e > 0) s->step();
    EXPECT_EQ(s->last_epoch(), static_cast<int64_t>(e));
    for (int g = 0; g < 2; ++g) out[g].push_back(s->last_lr()[g]);
  }
  return out;
}

// Expects both groups' sequences to equal the fixture's exactly.
void expect_exact(const std::string& name) {
  auto got = run_epoch_schedule(name);
  const ScheduleCase& c = cases().at(name);
  ASSERT_FALSE(c.lr[0].empty()) << name;
  for (int g = 0; g < 2; ++g) EXPECT_EQ(got[g], c.lr[g]) << name << " group " << g;
}

TEST(Schedules, StepEqualsPyTorch) {
  expect_exact("step");
}
TEST(Schedules, MultiStepWithRepeatedMilestoneEqualsPyTorch) {
  expect_exact("multistep");
}
TEST(Schedules, ExponentialEqualsPyTorch) {
  expect_exact("exponential");
}

TEST(Schedules, CosineWarmupEqualsSequentialLinearThenCosine) {
  auto got = run_epoch_schedule("cosine_warmup");
  const ScheduleCase& c = cases().at("cosine_warmup");
  ASSERT_EQ(c.lr[0].size(), 21u);
  for (int g = 0; g < 2; ++g)
    for (size_t e = 0; e < got[g].size(); ++e)
      EXPECT_NEAR(got[g][e], c.lr[g][e], 1e-12 * c.lr[g][e]) << "group " << g << " epoch " << e;
}

TEST(Schedules, CosineWarmupHoldsEtaMinAfterTotal) {
  TwoGroups t;
  optim::CosineWarmupLr s(t.opt, 2, 6, 0.5, 0.001);
  EXPECT_EQ(s.last_lr()[0], 0.05);
  s.step();
  EXPECT_DOUBLE_EQ(s.last_lr()[0], 0.075);
  for (int e = 2; e <= 6; ++e) s.step();
  EXPECT_DOUBLE_EQ(s.last_lr()[0], 0.001);
  s.step();
  s.step();
  EXPECT_EQ(s.last_lr()[0], 0.001);
  EXPECT_EQ(s.last_lr()[1], 0.001);
}

// Runs a plateau case and expects both sequences to equal the fixture's exactly.
void expect_plateau(const std::string& name) {
  const ScheduleCase& c = cases().at(name);
  ASSERT_FALSE(c.metrics.empty()) << name;
  optim::PlateauOptions o;
  o.mode = c.cfg.at("mode") == "min" ? optim::PlateauOptions::Mode::min
                                     : optim::PlateauOptions::Mode::max;
  o.factor = std::stod(c.cfg.at("factor"));
  o.patience = as_int(c, "patience");
  o.threshold = std::stod(c.cfg.at("threshold"));
  o.threshold_mode = c.cfg.at("threshold_mode") == "rel" ? optim::PlateauOptions::Threshold::rel
                                                         : optim::PlateauOptions::Threshold::abs;
  o.cooldown = as_int(c, "cooldown");
  o.min_lr = std::stod(c.cfg.at("min_lr"));
  TwoGroups t;
  optim::ReduceLrOnPlateau s(t.opt, o);
  std::vector<double> got[2];
  for (size_t e = 0; e <= c.metrics.size(); ++e) {
    if (e > 0) s.step(c.metrics[e - 1]);
    for (int g = 0; g < 2; ++g) got[g].push_back(s.last_lr()[g]);
  }
  for (int g = 0; g < 2; ++g) EXPECT_EQ(got[g], c.lr[g]) << name << " group " << g;
}

TEST(Schedules, PlateauMinRelativeEqualsPyTorch) {
  expect_plateau("plateau_min_rel");
}
TEST(Schedules, PlateauMaxAbsoluteCooldownMinLrEqualsPyTorch) {
  expect_plateau("plateau_max_abs_cooldown");
}

TEST(Schedules, StateDictResumesTheSequence) {
  TwoGroups straight;
  optim::CosineWarmupLr a(straight.opt, 3, 12, 0.2, 0.001);
  for (int e = 0; e < 9; ++e) a.step();

  TwoGroups first;
  optim::CosineWarmupLr b(first.opt, 3, 12, 0.2, 0.001);
  for (int e = 0; e < 4; ++e) b.step();
  auto opt_sd = first.opt.state_dict();
  auto sched_sd = b.state_dict();
  EXPECT_EQ(sched_sd.at("last_epoch").item(), 4);

  TwoGroups resumed;
  optim::CosineWarmupLr c(resumed.opt, 3, 12, 0.2, 0.001);
  resumed.opt.load_state_dict(opt_sd);
  c.load_state_dict(sched_sd);
  for (int e = 0; e < 5; ++e) c.step();
  EXPECT_EQ(c.last_epoch(), 9);
  EXPECT_EQ(c.last_lr(), a.last_lr());
  expect_error([&] { c.load_state_dict({}); }, {"last_epoch", "base_lrs"});
}

TEST(Schedules, PlateauStateDictResumes) {
  optim::PlateauOptions o;
  o.patience = 1;
  o.cooldown = 1;
  const std::vector<double> metrics = {1.0, 0.9, 0.95, 0.96, 0.97, 0.5, 0.6, 0.7, 0.8};
  TwoGroups straight;
  optim::ReduceLrOnPlateau a(straight.opt, o);
  for (double m : metrics) a.step(m);

  TwoGroups first;
  optim::ReduceLrOnPlateau b(first.opt, o);
  for (size_t i = 0; i < 4; ++i) b.step(metrics[i]);
  TwoGroups resumed;
  optim::ReduceLrOnPlateau c(resumed.opt, o);
  resumed.opt.load_state_dict(first.opt.state_dict());
  c.load_state_dict(b.state_dict());
  EXPECT_EQ(c.best(), 0.9);
  for (size_t i = 4; i < metrics.size(); ++i) c.step(metrics[i]);
  EXPECT_EQ(c.last_lr(), a.last_lr());
  EXPECT_EQ(c.num_bad_epochs(), a.num_bad_epochs());
  EXPECT_LT(a.last_lr()[0], 0.1);
}

TEST(Schedules, ArgumentErrors) {
  TwoGroups t;
  expect_error([&] { optim::StepLr(t.opt, 0); }, {"StepLR", "step_size"});
  expect_error([&] { optim::CosineWarmupLr(t.opt, 5, 5); }, {"CosineWarmupLR", "warmup 5"});
  optim::PlateauOptions o;
  o.factor = 1.0;
  expect_error([&] { optim::ReduceLrOnPlateau(t.opt, o); }, {"ReduceLROnPlateau", "factor"});
}

}  // namespace
}  // namespace signet
