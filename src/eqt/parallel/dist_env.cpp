// eqt/parallel/dist_env.cpp — see dist_env.h.
#include "eqt/parallel/dist_env.h"

#include <cstdlib>
#include <stdexcept>

namespace eqt::parallel {
namespace {

const char* get(const char* name) {
  const char* v = std::getenv(name);
  return (v && *v) ? v : nullptr;
}

long integer(const char* name, const char* value, long lo, long hi) {
  char* end = nullptr;
  long x = std::strtol(value, &end, 10);
  if (end == value || *end != '\0' || x < lo || x > hi)
    throw std::invalid_argument(std::string(name) + "=" + value + " is invalid; expected an integer in [" +
                                std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return x;
}

}  // namespace

DistEnv DistEnv::from_environment() {
  DistEnv e;
  const char* world = get("WORLD_SIZE");
  const char* rank = get("RANK");
  if (!world && !rank) return e;
  if (!world || !rank)
    throw std::invalid_argument(std::string("RANK and WORLD_SIZE must be set together (only ") +
                                (world ? "WORLD_SIZE" : "RANK") + " is set)");
  e.world = int(integer("WORLD_SIZE", world, 1, 1 << 20));
  e.rank = int(integer("RANK", rank, 0, e.world - 1));
  if (const char* v = get("LOCAL_RANK")) e.local_rank = int(integer("LOCAL_RANK", v, 0, e.world - 1));
  if (const char* v = get("MASTER_ADDR")) e.master_addr = v;
  if (const char* v = get("MASTER_PORT")) e.master_port = uint16_t(integer("MASTER_PORT", v, 1, 65535));
  if (const char* v = get("TORCHELASTIC_USE_AGENT_STORE")) e.agent_store = std::string(v) == "True";
  if (const char* v = get("EQT_STORE_FILE")) e.store_file = v;
  if (e.world > 1 && !get("MASTER_ADDR"))
    throw std::invalid_argument("WORLD_SIZE=" + std::string(world) +
                                " needs MASTER_ADDR (the host of rank 0) and MASTER_PORT");
  return e;
}

}  // namespace eqt::parallel
