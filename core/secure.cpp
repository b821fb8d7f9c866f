#include "core/secure.hpp"

#include <string.h>

namespace braid {

void secureWipe(void* p, size_t n) {
  if (p == nullptr || n == 0) return;  // an empty buffer's data() may be null (UBSan)
  explicit_bzero(p, n);
}

}  // namespace braid
