// eqt/util/malloc_tuning.cpp — see malloc_tuning.h.
#include "eqt/util/malloc_tuning.h"

#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace eqt::util {

bool keep_freed_memory() {
  const char* off = std::getenv("EQT_MALLOC_DEFAULT");
  if (off && std::strcmp(off, "0") != 0) return false;
#if defined(__GLIBC__)
  return mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1 && mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1;
#else
  return false;
#endif
}

}  // namespace eqt::util
