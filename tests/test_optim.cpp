// Optimisers: torch.optim trajectories from tests/fixtures/optim_trajectories.txt (made by
// make_optim_fixtures.py with PyTorch 1.13.1) reproduced for 20 steps in f32 and f64, parameter
// groups (own lr and weight decay, frozen), in-place version bumps, state_dict round trips and
// argument errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/optim/adam.h"
#include "engine/optim/rmsprop.h"
#include "engine/optim/sgd.h"
#include "tests/support/expect_error.h"

namespace signet {
namespace {

using optim::ParamGroup;
using testing::expect_error;

// The whitespace-separated tokens of each line of a fixture next to this file.
std::vector<std::vector<std::string>> fixture_lines(const std::string& name) {
  std::string here = __FILE__;
  std::string path = here.substr(0, here.find_last_of('/') + 1) + "fixtures/" + name;
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::vector<std::vector<std::string>> out;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream s(line);
    std::vector<std::string> tokens;
    for (std::string t; s >> t;) tokens.push_back(t);
    if (!tokens.empty()) out.push_back(tokens);
  }
  return out;
}

// One parameter of the fixed problem: shape, initial value, target t and weight c.
struct ProblemParam {
  Shape shape;
  std::vector<double> init, target, weight;
};

// The parsed trajectory fixture.
struct Trajectories {
  std::map<std::string, ProblemParam> problem;
  std::map<std::string, std::pair<std::string, std::map<std::string, double>>> cases;
  // (case, dtype, step, param) -> values
  std::map<std::string, std::vector<double>> traj;
};

// The key of one recorded parameter value.
std::string traj_key(const std::string& c, const std::string& dt, int step, const std::string& p) {
  return c + "/" + dt + "/" + std::to_string(step) + "/" + p;
}

// Parses optim_trajectories.txt once.
const Trajectories& trajectories() {
  static const Trajectories t = [] {
    Trajectories out;
    for (const auto& tok : fixture_lines("optim_trajectories.txt")) {
      if (tok[0] == "problem") {
        const std::string name = tok[1].substr(0, tok[1].find('.'));
        const std::string what = tok[1].substr(tok[1].find('.') + 1);
        ProblemParam& p = out.problem[name];
        size_t i = 2;
        p.shape.clear();
        for (; tok[i] != ":"; ++i) p.shape.push_back(std::stoll(tok[i]));
        std::vector<double> v;
        for (++i; i < tok.size(); ++i) v.push_back(std::stod(tok[i]));
        (what == "init" ? p.init : what == "target" ? p.target : p.weight) = v;
      } else if (tok[0] == "case") {
        auto& c = out.cases[tok[1]];
        c.first = tok[2];
        for (size_t i = 3; i < tok.size(); ++i) {
          size_t eq = tok[i].find('=');
          c.second[tok[i].substr(0, eq)] = std::stod(tok[i].substr(eq + 1));
        }
      } else if (tok[0] == "traj") {
        std::vector<double> v;
        for (size_t i = 5; i < tok.size(); ++i) v.push_back(std::stod(tok[i]));
        out.traj[traj_key(tok[1], tok[2], std::stoi(tok[3]), tok[4])] = v;
      }
    }
    return out;
  }();
  return t;
}

// The value of key in cfg, or fallback.
double get(const std::map<std::string, double>& cfg, const char* key, double fallback) {
  auto it = cfg.find(key);
  return it == cfg.end() ? fallback : it->second;
}

// Builds the case's optimiser over groups, with PyTorch's defaults for unset options.
std::unique_ptr<optim::Optimizer> make_optimizer(const std::string& kind,
                                                 const std::map<std::string, double>& cfg,
                                                 std::vector<ParamGroup> groups) {
  if (kind == "sgd") {
    optim::SgdOptions o;
    o.lr = get(cfg, "lr", 0.01);
    o.momentum = get(cfg, "momentum", 0);
    o.dampening = get(cfg, "dampening", 0);
    o.weight_decay = get(cfg, "weight_decay", 0);
    o.nesterov = get(cfg, "nesterov", 0) != 0;
    return std::make_unique<optim::Sgd>(std::move(groups), o);
  }
  if (kind == "adam" || kind == "adamw") {
    optim::AdamOptions o;
    o.lr = get(cfg, "lr", 1e-3);
    o.beta1 = get(cfg, "betas0", 0.9);
    o.beta2 = get(cfg, "betas1", 0.999);
    o.eps = get(cfg, "eps", 1e-8);
    o.weight_decay = get(cfg, "weight_decay", kind == "adamw" ? 1e-2 : 0);
    o.amsgrad = get(cfg, "amsgrad", 0) != 0;
    if (kind == "adam") return std::make_unique<optim::Adam>(std::move(groups), o);
    return std::make_unique<optim::AdamW>(std::move(groups), o);
  }
  optim::RmspropOptions o;
  o.lr = get(cfg, "lr", 1e-2);
  o.alpha = get(cfg, "alpha", 0.99);
  o.eps = get(cfg, "eps", 1e-8);
  o.weight_decay = get(cfg, "weight_decay", 0);
  o.momentum = get(cfg, "momentum", 0);
  o.centered = get(cfg, "centered", 0) != 0;
  return std::make_unique<optim::Rmsprop>(std::move(groups), o);
}

// g = c * (p - t) + 0.2 * (p * p * p) in T, the order of the fixture script.
template <class T>
Tensor problem_grad(const Tensor& p, const ProblemParam& pp) {
  std::vector<T> v = p.to_vector<T>(), g(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    const T c = static_cast<T>(pp.weight[i]), t = static_cast<T>(pp.target[i]);
    g[i] = c * (v[i] - t) + static_cast<T>(0.2) * (v[i] * v[i] * v[i]);
  }
  return from_vector<T>(g, p.shape());
}

// Runs one fixture case in T and compares every step with PyTorch's values to rtol relative to
// the parameter's largest magnitude (PyTorch's vectorised adds are fused multiply-adds, so an
// element passing near zero keeps the rounding of the parameter's scale).
template <class T>
void reproduce(const std::string& name, double rtol) {
  const Trajectories& fx = trajectories();
  ASSERT_TRUE(fx.cases.count(name)) << name;
  const auto& [kind, cfg] = fx.cases.at(name);
  const char* dt = std::is_same<T, float>::value ? "f32" : "f64";
  const DType dtype = dtype_of<T>::value;
  std::map<std::string, Tensor> params;
  for (const auto& [pname, pp] : fx.problem)
    params[pname] = from_vector<double>(pp.init, pp.shape).to(dtype).requires_grad_();
  Tensor frozen = from_vector<double>({1.0, -2.0}).to(dtype).requires_grad_();
  std::vector<ParamGroup> groups(3);
  groups[0].params = {{"w", params["w"]}};
  groups[1].params = {{"b", params["b"]}};
  groups[1].lr = get(cfg, "lr", 0) * 0.5;
  groups[1].weight_decay = 0.02;
  groups[2].params = {{"frozen", frozen}};
  groups[2].frozen = true;
  auto opt = make_optimizer(kind, cfg, groups);
  for (int step = 1; step <= 20; ++step) {
    for (auto& [pname, p] : params) p.set_grad(problem_grad<T>(p, fx.problem.at(pname)));
    frozen.set_grad(ones_like(frozen));
    opt->step();
    for (auto& [pname, p] : params) {
      std::vector<T> got = p.template to_vector<T>();
      const std::vector<double>& want = fx.traj.at(traj_key(name, dt, step, pname));
      ASSERT_EQ(got.size(), want.size());
      double scale = 0;
      for (double w : want) scale = std::max(scale, std::abs(w));
      for (size_t i = 0; i < got.size(); ++i)
        ASSERT_LE(std::abs(got[i] - want[i]), rtol * scale)
            << name << " " << dt << " step " << step << " " << pname << "[" << i << "]: " << got[i]
            << " vs " << want[i];
    }
    if (step == 10)
      for (auto& g : opt->groups()) g.lr *= 0.5;
  }
  EXPECT_EQ(frozen.to(DType::f64).to_vector<double>(), (std::vector<double>{1.0, -2.0}));
  EXPECT_EQ(opt->state("frozen"), nullptr);
  EXPECT_EQ(opt->state("w")->step, 20);
}

// Both dtypes of one case: f32 to 1e-5 relative, f64 to 1e-12.
void reproduce_both(const std::string& name) {
  reproduce<float>(name, 1e-5);
  reproduce<double>(name, 1e-12);
}

TEST(OptimTrajectory, Sgd) {
  reproduce_both("sgd");
}
TEST(OptimTrajectory, SgdMomentumDampeningWeightDecay) {
  reproduce_both("sgd_momentum");
}
TEST(OptimTrajectory, SgdNesterov) {
  reproduce_both("sgd_nesterov");
}
TEST(OptimTrajectory, Adam) {
  reproduce_both("adam");
}
TEST(OptimTrajectory, AdamL2Amsgrad) {
  reproduce_both("adam_l2_amsgrad");
}
TEST(OptimTrajectory, AdamW) {
  reproduce_both("adamw");
}
TEST(OptimTrajectory, AdamWAmsgrad) {
  reproduce_both("adamw_amsgrad");
}
TEST(OptimTrajectory, Rmsprop) {
  reproduce_both("rmsprop");
}
TEST(OptimTrajectory, RmspropCenteredMomentum) {
  reproduce_both("rmsprop_centered_momentum");
}

// A leaf parameter with values v that requires a gradient.
Tensor param(const std::vector<float>& v) {
  return from_vector<float>(v).requires_grad_();
}

TEST(Optim, StepBumpsVersionRecordsNoGraphAndSkipsMissingGradients) {
  Tensor a = param({1, 2}), b = param({3});
  optim::Sgd opt({ParamGroup{{{"a", a}, {"b", b}}, {}, {}, false}}, {0.5});
  a.set_grad(from_vector<float>({1, -1}));
  const uint64_t va = a.version(), vb = b.version();
  opt.step();
  EXPECT_EQ(a.to_vector<float>(), (std::vector<float>{0.5f, 2.5f}));
  EXPECT_GT(a.version(), va);
  EXPECT_EQ(b.version(), vb);
  EXPECT_EQ(opt.state("b"), nullptr);
  EXPECT_TRUE(a.is_leaf());
  EXPECT_TRUE(a.requires_grad());
  EXPECT_TRUE(GradMode::enabled());
  opt.zero_grad();
  EXPECT_FALSE(a.grad().defined());
}

TEST(Optim, GroupOverridesAndLaterLrChanges) {
  Tensor a = param({1}), b = param({1});
  std::vector<ParamGroup> groups(2);
  groups[0].params = {{"a", a}};
  groups[1].params = {{"b", b}};
  groups[1].lr = 0.25;
  groups[1].weight_decay = 1.0;
  optim::Sgd opt(groups, {0.5});
  EXPECT_EQ(opt.groups()[0].lr, 0.5);
  EXPECT_EQ(opt.groups()[1].weight_decay, 1.0);
  a.set_grad(ones_like(a));
  b.set_grad(ones_like(b));
  opt.step();
  EXPECT_EQ(a.item(), 0.5);  // 1 - 0.5 * 1
  EXPECT_EQ(b.item(), 0.5);  // 1 - 0.25 * (1 + 1 * 1)
  opt.groups()[0].frozen = true;
  opt.groups()[1].lr = 1.0;
  opt.step();
  EXPECT_EQ(a.item(), 0.5);
  EXPECT_EQ(b.item(), -1.0);  // 0.5 - 1 * (1 + 0.5)
}

// Adam over a fresh parameter copy of init, stepped n times with gradient 2 * p - 1.
void adam_steps(optim::Optimizer& opt, const Tensor& p, int n) {
  for (int i = 0; i < n; ++i) {
    p.set_grad(from_vector<float>({2 * p.to_vector<float>()[0] - 1, p.to_vector<float>()[1]}));
    opt.step();
  }
}

TEST(Optim, StateDictRoundTripContinuesBitwise) {
  optim::AdamOptions o;
  o.lr = 0.1;
  o.amsgrad = true;
  Tensor straight = param({0.3f, -0.7f});
  optim::Adam a({ParamGroup{{{"p", straight}}, {}, {}, false}}, o);
  adam_steps(a, straight, 10);

  Tensor first = param({0.3f, -0.7f});
  optim::Adam b({ParamGroup{{{"p", first}}, {}, {}, false}}, o);
  adam_steps(b, first, 4);
  b.groups()[0].lr = 0.1;
  std::map<std::string, Tensor> sd = b.state_dict();
  for (const char* key :
       {"state.p.step", "state.p.exp_avg", "state.p.exp_avg_sq", "state.p.max_exp_avg_sq",
        "param_groups.0.lr", "param_groups.0.weight_decay"})
    EXPECT_TRUE(sd.count(key)) << key;
  EXPECT_EQ(sd.size(), 6u);
  EXPECT_EQ(sd["state.p.step"].dtype(), DType::i64);
  EXPECT_EQ(sd["state.p.step"].item(), 4);

  Tensor resumed = from_vector<float>(first.to_vector<float>()).requires_grad_();
  optim::AdamOptions other = o;
  other.lr = 123;  // replaced by the loaded group lr
  optim::Adam c({ParamGroup{{{"p", resumed}}, {}, {}, false}}, other);
  c.load_state_dict(sd);
  EXPECT_EQ(c.groups()[0].lr, 0.1);
  adam_steps(c, resumed, 6);
  EXPECT_EQ(resumed.to_vector<float>(), straight.to_vector<float>());
  // The loaded state is a copy: stepping c did not change the saved map.
  EXPECT_EQ(sd["state.p.step"].item(), 4);
}

TEST(Optim, LoadStateDictRejectsForeignState) {
  Tensor p = param({1, 2});
  optim::Sgd opt({ParamGroup{{{"p", p}}, {}, {}, false}}, {0.1, 0.9});
  p.set_grad(ones_like(p));
  opt.step();
  auto sd = opt.state_dict();
  EXPECT_TRUE(sd.count("state.p.momentum_buffer"));
  auto extra = sd;
  extra["state.q.step"] = sd["state.p.step"];
  expect_error([&] { opt.load_state_dict(extra); }, {"SGD", "unexpected key", "state.q.step"});
  auto wrong = sd;
  wrong["state.p.momentum_buffer"] = zeros({3});
  expect_error([&] { opt.load_state_dict(wrong); }, {"momentum_buffer", "[3]", "[2]"});
  auto missing = sd;
  missing.erase("param_groups.0.lr");
  expect_error([&] { opt.load_state_dict(missing); }, {"missing", "param_groups.0.lr"});
}

TEST(Optim, ArgumentErrors) {
  Tensor p = param({1});
  expect_error(
      [&] {
        optim::Sgd({ParamGroup{{{"p", p}, {"p", param({2})}}, {}, {}, false}}, {});
      },
      {"SGD", "'p'", "twice"});
  expect_error(
      [&] {
        optim::Sgd({ParamGroup{{{"p", p}, {"q", p}}, {}, {}, false}}, {});
      },
      {"same tensor"});
  optim::SgdOptions nesterov;
  nesterov.nesterov = true;
  expect_error(
      [&] {
        optim::Sgd({ParamGroup{{{"p", p}}, {}, {}, false}}, nesterov);
      },
      {"Nesterov"});
  optim::AdamOptions betas;
  betas.beta2 = 1.0;
  expect_error(
      [&] {
        optim::Adam({ParamGroup{{{"p", p}}, {}, {}, false}}, betas);
      },
      {"Adam", "betas"});
  optim::Sgd opt({ParamGroup{{{"p", p}}, {}, {}, false}}, {});
  p.set_grad(zeros({2}));
  expect_error([&] { opt.step(); }, {"SGD", "gradient of 'p'", "[2]", "[1]"});
}

}  // namespace
}  // namespace signet
