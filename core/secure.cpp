#include "core/secure.hpp"

#include <string.h>

namespace braid {

void secureWipe(void* p, size_t n) {
  explicit_bzero(p, n);
}

}  // namespace braid
