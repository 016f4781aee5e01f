// eqt/data/make_task.cpp — see make_task.h.
#include "eqt/data/make_task.h"

#include "eqt/data/parity.h"

#include <set>
#include <stdexcept>

namespace eqt::data {
namespace {

void only_keys(const std::string& task, const nlohmann::json& o, std::set<std::string> known) {
  for (auto it = o.begin(); it != o.end(); ++it)
    if (!known.count(it.key()) && it.key() != "name")
      throw std::invalid_argument("task " + task + " has no option '" + it.key() + "'");
}

}  // namespace

std::shared_ptr<Task> make_task(const std::string& name, const nlohmann::json& o) {
  if (name == "parity") {
    only_keys(name, o, {"length", "n_train", "n_test", "seed"});
    ParityOptions p;
    p.length = o.value("length", p.length);
    p.n_train = o.value("n_train", p.n_train);
    p.n_test = o.value("n_test", p.n_test);
    p.seed = o.value("seed", p.seed);
    return std::make_shared<ParityTask>(p);
  }
  throw std::invalid_argument("unknown task '" + name + "'; expected one of: parity");
}

}  // namespace eqt::data
