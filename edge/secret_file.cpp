#include "edge/secret_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

namespace braid::edge {
namespace {

constexpr size_t kMaxSecretFile = 1 << 20;

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<SecretBytes> secretFromHex(std::string_view text) {
  if (text.starts_with("0x") || text.starts_with("0X")) text.remove_prefix(2);
  std::vector<uint8_t> out;
  out.reserve(text.size() / 2);  // never grows: no stale copy in a freed buffer
  int pending = -1;
  bool ok = true;
  for (char c : text) {
    int v = hexDigit(c);
    if (v < 0) {
      if ((c == ':' || c == ' ' || c == '\n' || c == '\t') && pending < 0) continue;
      ok = false;  // a separator inside a byte, or not hex
      break;
    }
    if (pending < 0) {
      pending = v;
    } else {
      out.push_back(static_cast<uint8_t>(pending << 4 | v));
      pending = -1;
    }
  }
  std::optional<SecretBytes> result;
  if (ok && pending < 0) result.emplace(Bytes(out));
  secureWipe(out.data(), out.size());
  return result;
}

Result<SecretBytes> readSecretFile(const std::string& path, SecretFileCheck check) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return errorStatus(ErrorCode::kNotFound, "cannot read " + path + ": " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    return errorStatus(ErrorCode::kIoError, "cannot stat " + path + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    return errorStatus(ErrorCode::kInvalidArgument, path + " is not a regular file");
  }
  if (check == SecretFileCheck::kPrivate) {
    if ((st.st_mode & 077) != 0) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", unsigned(st.st_mode & 07777));
      return errorStatus(ErrorCode::kPermissionDenied,
                         std::string("has mode ") + mode + " (group or others may access it)");
    }
    if (st.st_uid != ::geteuid() && st.st_uid != 0) {
      return errorStatus(ErrorCode::kPermissionDenied,
                         "is owned by uid " + std::to_string(st.st_uid) +
                             " (another user could make it readable)");
    }
  }
  if (size_t(st.st_size) > kMaxSecretFile) {
    return errorStatus(ErrorCode::kOutOfRange, path + " is larger than 1 MiB");
  }
  SecretBytes buf(size_t(st.st_size) + 1);  // +1: notices a file that grew meanwhile
  size_t got = 0;
  while (got < buf.size()) {
    ssize_t n = ::read(fd, buf.data() + got, buf.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return errorStatus(ErrorCode::kIoError, "cannot read " + path + ": " + std::strerror(errno));
    }
    if (n == 0) break;
    got += size_t(n);
  }
  if (got > size_t(st.st_size)) {
    return errorStatus(ErrorCode::kIoError, path + " changed while it was read");
  }
  return buf.slice(0, got);  // buf is wiped when it goes
}

}  // namespace braid::edge
