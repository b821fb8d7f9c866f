// Manual keying: outbound ESP sequence numbers reserved on disk, so that a restart never
// reuses one under the same static key. The sequence number is the explicit IV of AES-GCM
// (RFC 4106 section 3.1) and ChaCha20-Poly1305 (RFC 7634 section 2); a repeated IV under
// one key breaks both ciphers. IKE-keyed SAs get fresh keys per SA and need none of this.
//
// One state file per outbound key, named by a fingerprint of the key (a hash, never the
// key): <dir>/esp-out-<fingerprint>.seq holds the highest number that may have been used.
// Before an SA may seal up to N, N is written to a temporary file, fsynced, renamed over
// the state file and the directory fsynced. A restart resumes above the recorded mark.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/bytes.hpp"
#include "core/result.hpp"

namespace braid::edge {

// 16 bytes of SHA-256("braid esp-out sequence v1" || key || salt), in hex.
std::string seqKeyFingerprint(Bytes keymat);

// The next reservation mark: `current + block`, capped at the end of the sequence space
// (2^32 - 1, or 2^64 - 1 with ESN; RFC 4303 section 3.3.3).
uint64_t nextSeqReservation(uint64_t current, uint64_t block, bool esn);
inline uint64_t seqSpaceEnd(bool esn) {
  return esn ? UINT64_MAX : UINT32_MAX;
}

class SeqStateFile {
 public:
  // Opens the state of the outbound SA keyed with `keymat` in `dir` (created with mode 0700
  // if it is missing, but not its parents), takes an exclusive lock on it for this process's
  // lifetime and reads the reserved mark (0 for a key never used). Fails if the directory
  // cannot be created or opened, is writable by group or others, the state is locked by
  // another process, or the state file is unreadable or corrupt.
  static Result<std::unique_ptr<SeqStateFile>> open(const std::string& dir, uint32_t spi,
                                                    Bytes keymat);
  ~SeqStateFile();
  SeqStateFile(const SeqStateFile&) = delete;
  SeqStateFile& operator=(const SeqStateFile&) = delete;

  // The highest sequence number that may have been sent with this key (0: none).
  uint64_t reserved() const { return reserved_; }
  // Durably records that numbers up to `upTo` (> reserved()) may be used. Only once this
  // returns ok may the SA seal them. Blocks on fsync: never call it on a data thread.
  Status reserve(uint64_t upTo);
  const std::string& path() const { return path_; }

 private:
  SeqStateFile() = default;
  Status load();
  std::string dir_;
  std::string name_;  // file name inside dir_
  std::string path_;
  std::string fingerprint_;
  uint32_t spi_ = 0;
  int dirFd_ = -1;
  int lockFd_ = -1;
  uint64_t reserved_ = 0;
};

}  // namespace braid::edge
