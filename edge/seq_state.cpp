#include "edge/seq_state.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <vector>

#include "core/hex.hpp"

namespace braid::edge {
namespace {

constexpr char kMagic[] = "braid-esp-seq 1";
constexpr size_t kMaxStateFile = 512;

std::string sysError(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

// 8 bytes of SHA-256 over the lines above the check line: catches edits and bit rot.
std::string checkOf(const std::string& body) {
  uint8_t md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (EVP_Digest(body.data(), body.size(), md, &len, EVP_sha256(), nullptr) != 1) return "";
  return toHex(Bytes(md, 8));
}

bool parseU64(std::string_view s, uint64_t& out, int base = 10) {
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out, base);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool writeAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += size_t(n);
  }
  return true;
}

}  // namespace

std::string seqKeyFingerprint(Bytes keymat) {
  static constexpr char kLabel[] = "braid esp-out sequence v1";
  uint8_t md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx != nullptr && EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1 &&
            EVP_DigestUpdate(ctx, kLabel, sizeof kLabel - 1) == 1 &&
            EVP_DigestUpdate(ctx, keymat.data(), keymat.size()) == 1 &&
            EVP_DigestFinal_ex(ctx, md, &len) == 1;
  EVP_MD_CTX_free(ctx);   // frees and wipes the context (it held the key's hash state)
  if (!ok) std::abort();  // SHA-256 is always there; no fingerprint, no safe start
  return toHex(Bytes(md, 16));
}

uint64_t nextSeqReservation(uint64_t current, uint64_t block, bool esn) {
  const uint64_t end = seqSpaceEnd(esn);
  if (current >= end || block >= end - current) return end;
  return current + block;
}

Result<std::unique_ptr<SeqStateFile>> SeqStateFile::open(const std::string& dir, uint32_t spi,
                                                         Bytes keymat) {
  std::unique_ptr<SeqStateFile> s(new SeqStateFile());
  s->dir_ = dir;
  s->spi_ = spi;
  s->fingerprint_ = seqKeyFingerprint(keymat);
  s->name_ = "esp-out-" + s->fingerprint_ + ".seq";
  s->path_ = dir + "/" + s->name_;
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return errorStatus(ErrorCode::kIoError, sysError("cannot create " + dir));
  }
  s->dirFd_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (s->dirFd_ < 0) return errorStatus(ErrorCode::kIoError, sysError("cannot open " + dir));
  struct stat st;
  if (::fstat(s->dirFd_, &st) != 0) {
    return errorStatus(ErrorCode::kIoError, sysError("cannot stat " + dir));
  }
  // Whoever can replace or delete a state file can make us reuse nonces.
  if ((st.st_mode & 022) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", unsigned(st.st_mode & 07777));
    return errorStatus(
        ErrorCode::kPermissionDenied,
        dir + " has mode " + mode + "; expected a directory only its owner can write (chmod 700)");
  }
  const std::string lockName = "esp-out-" + s->fingerprint_ + ".lock";
  s->lockFd_ =
      ::openat(s->dirFd_, lockName.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (s->lockFd_ < 0) {
    return errorStatus(ErrorCode::kIoError, sysError("cannot create " + dir + "/" + lockName));
  }
  if (::flock(s->lockFd_, LOCK_EX | LOCK_NB) != 0) {
    return errorStatus(ErrorCode::kUnavailable,
                       s->path_ +
                           " is locked by another process; expected one braidd per key (two "
                           "senders with one key reuse nonces)");
  }
  if (Status st2 = s->load(); !st2) return st2;
  return s;
}

SeqStateFile::~SeqStateFile() {
  if (lockFd_ >= 0) ::close(lockFd_);
  if (dirFd_ >= 0) ::close(dirFd_);
}

Status SeqStateFile::load() {
  int fd = ::openat(dirFd_, name_.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      reserved_ = 0;  // a key never used here
      return Status::ok();
    }
    return errorStatus(ErrorCode::kIoError, sysError("cannot read " + path_));
  }
  std::string text(kMaxStateFile + 1, '\0');
  size_t got = 0;
  bool ioError = false;
  while (got < text.size()) {
    ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) ioError = true;
    if (n <= 0) break;
    got += size_t(n);
  }
  ::close(fd);
  if (ioError) return errorStatus(ErrorCode::kIoError, sysError("cannot read " + path_));
  text.resize(got);
  auto corrupt = [&](const std::string& why) {
    return errorStatus(ErrorCode::kParseError,
                       path_ + " is corrupt (" + why +
                           "); braidd cannot tell which ESP sequence numbers were used with "
                           "this key. Expected a state file written by braidd; use a new key "
                           "(the file may then be deleted)");
  };
  if (got > kMaxStateFile) return corrupt("too long");
  std::vector<std::string_view> lines;
  std::string_view rest(text);
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    if (nl == std::string_view::npos) return corrupt("no final newline");
    lines.push_back(rest.substr(0, nl));
    rest.remove_prefix(nl + 1);
  }
  if (lines.size() != 5) return corrupt(std::to_string(lines.size()) + " lines, expected 5");
  auto value = [&](size_t i, std::string_view key) -> std::optional<std::string_view> {
    std::string_view l = lines[i];
    if (l.size() <= key.size() || l.substr(0, key.size()) != key || l[key.size()] != ' ') {
      return std::nullopt;
    }
    return l.substr(key.size() + 1);
  };
  if (lines[0] != kMagic) return corrupt("unknown header");
  auto fp = value(1, "fingerprint");
  auto spi = value(2, "spi");
  auto reserved = value(3, "reserved");
  auto check = value(4, "check");
  uint64_t mark = 0, spiValue = 0;
  if (!fp || !spi || !reserved || !check) return corrupt("missing field");
  if (*fp != fingerprint_) return corrupt("fingerprint of another key");
  if (spi->size() != 10 || spi->substr(0, 2) != "0x" || !parseU64(spi->substr(2), spiValue, 16)) {
    return corrupt("bad spi");
  }
  if (!parseU64(*reserved, mark)) return corrupt("bad reserved mark");
  const size_t bodyLen = got - lines[4].size() - 1;
  if (*check != checkOf(text.substr(0, bodyLen))) return corrupt("checksum mismatch");
  reserved_ = mark;
  return Status::ok();
}

Status SeqStateFile::reserve(uint64_t upTo) {
  if (upTo <= reserved_) return Status::ok();
  char spi[16];
  std::snprintf(spi, sizeof spi, "0x%08x", spi_);
  std::string body = std::string(kMagic) + "\nfingerprint " + fingerprint_ + "\nspi " + spi +
                     "\nreserved " + std::to_string(upTo) + "\n";
  std::string content = body + "check " + checkOf(body) + "\n";
  const std::string tmp = name_ + ".tmp";
  int fd =
      ::openat(dirFd_, tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return errorStatus(ErrorCode::kIoError, sysError("cannot write " + dir_ + "/" + tmp));
  bool ok = writeAll(fd, content) && ::fsync(fd) == 0;
  int e = errno;
  ::close(fd);
  if (!ok) {
    errno = e;
    (void)::unlinkat(dirFd_, tmp.c_str(), 0);
    return errorStatus(ErrorCode::kIoError, sysError("cannot write " + dir_ + "/" + tmp));
  }
  // rename(2) replaces atomically; the directory fsync makes the new entry durable.
  if (::renameat(dirFd_, tmp.c_str(), dirFd_, name_.c_str()) != 0) {
    return errorStatus(ErrorCode::kIoError, sysError("cannot rename " + tmp + " to " + path_));
  }
  if (::fsync(dirFd_) != 0) return errorStatus(ErrorCode::kIoError, sysError("fsync " + dir_));
  reserved_ = upTo;
  return Status::ok();
}

}  // namespace braid::edge
