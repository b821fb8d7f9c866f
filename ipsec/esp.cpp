#include "ipsec/esp.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <climits>
#include <cstring>

namespace braid::ipsec {

namespace {

constexpr size_t kSaltLength = 4;
constexpr size_t kNonceLength = kSaltLength + kEspIvLength;  // RFC 4106 section 4
// The smallest ESP packet: header, IV, pad length and next header, ICV.
constexpr size_t kMinEspLength = kEspHeadroom + 2 + kEspIcvLength;

size_t cipherKeyLength(EspCipher cipher) {
  return cipher == EspCipher::kAesGcm16_128 ? 16 : 32;
}

const char* opensslName(EspCipher cipher) {
  switch (cipher) {
    case EspCipher::kAesGcm16_128:
      return "AES-128-GCM";
    case EspCipher::kAesGcm16_256:
      return "AES-256-GCM";
    case EspCipher::kChaCha20Poly1305:
      return "ChaCha20-Poly1305";
  }
  return "";
}

// One AEAD direction with the key schedule done once per SA. Per packet only the nonce is
// set; data is transformed in place and no memory is allocated.
class Aead {
 public:
  Aead() = default;
  Aead(const Aead&) = delete;
  Aead& operator=(const Aead&) = delete;
  ~Aead() { EVP_CIPHER_CTX_free(ctx_); }  // also cleanses the key schedule

  Status init(EspCipher cipher, Bytes key, bool encrypt) {
    ctx_ = EVP_CIPHER_CTX_new();
    if (ctx_ == nullptr) return {ErrorCode::kResourceExhausted, "EVP_CIPHER_CTX_new failed"};
    EVP_CIPHER* evp = EVP_CIPHER_fetch(nullptr, opensslName(cipher), nullptr);
    if (evp == nullptr) {
      return {ErrorCode::kCryptoError, std::string("cipher unavailable: ") + opensslName(cipher)};
    }
    int ok = EVP_CipherInit_ex(ctx_, evp, nullptr, nullptr, nullptr, encrypt ? 1 : 0);
    EVP_CIPHER_free(evp);  // the context keeps its own reference
    if (ok == 1) {
      ok = EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_SET_IVLEN, static_cast<int>(kNonceLength),
                               nullptr);
    }
    if (ok == 1) ok = EVP_CipherInit_ex(ctx_, nullptr, nullptr, key.data(), nullptr, -1);
    if (ok != 1) return {ErrorCode::kCryptoError, "cannot key the ESP cipher"};
    return Status::ok();
  }

  // Encrypts data[0..len) in place and writes the 16-byte tag.
  bool seal(const uint8_t* nonce, Bytes aad, uint8_t* data, size_t len, uint8_t* tag) {
    int outl = 0;
    if (len > INT_MAX) return false;
    if (EVP_EncryptInit_ex(ctx_, nullptr, nullptr, nullptr, nonce) != 1) return false;
    if (EVP_EncryptUpdate(ctx_, nullptr, &outl, aad.data(), static_cast<int>(aad.size())) != 1) {
      return false;
    }
    if (EVP_EncryptUpdate(ctx_, data, &outl, data, static_cast<int>(len)) != 1) return false;
    if (EVP_EncryptFinal_ex(ctx_, data + outl, &outl) != 1) return false;
    // The parameter directly rather than EVP_CTRL_AEAD_GET_TAG, which OpenSSL 3 translates
    // into the same parameter at a cost per packet.
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, kEspIcvLength),
        OSSL_PARAM_construct_end()};
    return EVP_CIPHER_CTX_get_params(ctx_, params) == 1;
  }

  // Decrypts data[0..len) in place; false if the tag does not verify.
  bool open(const uint8_t* nonce, Bytes aad, uint8_t* data, size_t len, const uint8_t* tag) {
    int outl = 0;
    if (len > INT_MAX) return false;
    if (EVP_DecryptInit_ex(ctx_, nullptr, nullptr, nullptr, nonce) != 1) return false;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, const_cast<uint8_t*>(tag),
                                          kEspIcvLength),
        OSSL_PARAM_construct_end()};
    if (EVP_CIPHER_CTX_set_params(ctx_, params) != 1) return false;
    if (EVP_DecryptUpdate(ctx_, nullptr, &outl, aad.data(), static_cast<int>(aad.size())) != 1) {
      return false;
    }
    if (EVP_DecryptUpdate(ctx_, data, &outl, data, static_cast<int>(len)) != 1) return false;
    return EVP_DecryptFinal_ex(ctx_, data + outl, &outl) == 1;
  }

 private:
  EVP_CIPHER_CTX* ctx_ = nullptr;
};

// RFC 4106 section 5 / RFC 7634 section 2.1: SPI || seq (8 bytes), or with ESN
// SPI || seq-high || seq-low (12 bytes). Returns the AAD length.
size_t buildAad(uint8_t* aad, uint32_t spi, uint64_t seq, bool esn) {
  storeBe32(aad, spi);
  if (!esn) {
    storeBe32(aad + 4, static_cast<uint32_t>(seq));
    return 8;
  }
  storeBe64(aad + 4, seq);
  return 12;
}

Status checkConfig(const EspSaConfig& config) {
  size_t want = espKeymatLength(config.cipher);
  if (config.keymat.size() != want) {
    return {ErrorCode::kInvalidArgument, "ESP keymat for " +
                                             std::string(espCipherName(config.cipher)) +
                                             " must be " + std::to_string(want) + " bytes"};
  }
  return Status::ok();
}

class OutboundSa final : public EspOutboundSa {
 public:
  Status init(const EspSaConfig& config) {
    spi_ = config.spi;
    esn_ = config.esn;
    limit_ = hardLimit();
    size_t keyLen = cipherKeyLength(config.cipher);
    std::memcpy(salt_, config.keymat.data() + keyLen, kSaltLength);  // RFC 4106 section 8.1
    return aead_.init(config.cipher, config.keymat.bytes().first(keyLen), true);
  }
  ~OutboundSa() override { secureWipe(salt_, sizeof salt_); }

  SealStatus seal(PacketBuffer& pkt, uint8_t nextHeader) override {
    // RFC 4303 3.3.3: the counter must not cycle; the SA has to be rekeyed instead. One
    // compare covers both that and the reserved limit (limit_ <= hardLimit()).
    if (last_ >= limit_) {
      if (limit_ < hardLimit()) return SealStatus::kSequenceLimit;
      ++counters_.sequenceExhausted;
      return SealStatus::kSequenceExhausted;
    }
    const size_t inner = pkt.size();
    // RFC 4303 2.4: pad so that pad length and next header end on a 4-byte boundary.
    const size_t pad = (4 - (inner + 2) % 4) % 4;
    const size_t trailer = pad + 2;
    if (pkt.headroom() < kEspHeadroom || pkt.tailroom() < trailer + kEspIcvLength) {
      return SealStatus::kNoRoom;
    }
    const uint64_t seq = last_ + 1;
    uint8_t* t = pkt.append(trailer + kEspIcvLength);
    for (size_t i = 0; i < pad; ++i) t[i] = static_cast<uint8_t>(i + 1);
    t[pad] = static_cast<uint8_t>(pad);
    t[pad + 1] = nextHeader;

    uint8_t* h = pkt.prepend(kEspHeadroom);
    storeBe32(h, spi_);
    storeBe32(h + 4, static_cast<uint32_t>(seq));  // low 32 bits only (RFC 4303 2.2.1)
    // RFC 4106 section 3.1: the explicit IV must be unique per key; the counter is.
    storeBe64(h + kEspHeaderLength, ivOverride_ ? *ivOverride_ : seq);
    ivOverride_.reset();

    uint8_t nonce[kNonceLength];
    std::memcpy(nonce, salt_, kSaltLength);
    std::memcpy(nonce + kSaltLength, h + kEspHeaderLength, kEspIvLength);
    uint8_t aad[12];
    size_t aadLen = buildAad(aad, spi_, seq, esn_);
    const size_t ctLen = inner + trailer;
    uint8_t* ct = h + kEspHeadroom;
    if (!aead_.seal(nonce, Bytes(aad, aadLen), ct, ctLen, ct + ctLen)) {
      return SealStatus::kCryptoError;
    }
    last_ = seq;
    ++counters_.packetsSealed;
    counters_.bytesSealed += inner;
    return SealStatus::kOk;
  }

  uint32_t spi() const override { return spi_; }
  uint64_t lastSequence() const override { return last_; }
  void setLastSequence(uint64_t seq) override { last_ = seq; }
  void setSequenceLimit(uint64_t limit) override { limit_ = std::min(limit, hardLimit()); }
  const EspCounters& counters() const override { return counters_; }

 protected:
  void setNextExplicitIv(uint64_t iv) override { ivOverride_ = iv; }

 private:
  uint64_t hardLimit() const { return esn_ ? UINT64_MAX : UINT32_MAX; }
  uint32_t spi_ = 0;
  bool esn_ = false;
  uint64_t last_ = 0;
  uint64_t limit_ = UINT32_MAX;
  uint8_t salt_[kSaltLength] = {};
  std::optional<uint64_t> ivOverride_;
  Aead aead_;
  EspCounters counters_;
};

class InboundSa final : public EspInboundSa {
 public:
  explicit InboundSa(uint32_t window) : window_(window) {}
  ~InboundSa() override { secureWipe(salt_, sizeof salt_); }

  Status init(const EspSaConfig& config) {
    spi_ = config.spi;
    esn_ = config.esn;
    size_t keyLen = cipherKeyLength(config.cipher);
    std::memcpy(salt_, config.keymat.data() + keyLen, kSaltLength);
    return aead_.init(config.cipher, config.keymat.bytes().first(keyLen), false);
  }

  std::optional<EspDrop> open(PacketBuffer& pkt, uint8_t& nextHeader) override {
    const size_t size = pkt.size();
    if (size < kMinEspLength) return drop(EspDrop::kTooShort);
    uint8_t* p = pkt.data();
    if (loadBe32(p) != spi_) return drop(EspDrop::kBadSpi);
    const uint32_t low = loadBe32(p + 4);
    // RFC 4303 A2.2: with ESN the high half is inferred from the window and only
    // authenticated (it is in the AAD), never sent.
    const uint64_t seq = esn_ ? window_.inferEsn(low) : low;
    if (!window_.check(seq)) return drop(EspDrop::kReplay);

    uint8_t nonce[kNonceLength];
    std::memcpy(nonce, salt_, kSaltLength);
    std::memcpy(nonce + kSaltLength, p + kEspHeaderLength, kEspIvLength);
    uint8_t aad[12];
    size_t aadLen = buildAad(aad, spi_, seq, esn_);
    const size_t ctLen = size - kEspHeadroom - kEspIcvLength;
    uint8_t* ct = p + kEspHeadroom;
    if (!aead_.open(nonce, Bytes(aad, aadLen), ct, ctLen, ct + ctLen)) {
      return drop(EspDrop::kIcv);
    }
    // RFC 4303 3.4.3: the window moves only for packets whose ICV verified.
    (void)window_.update(seq);

    const size_t padLen = ct[ctLen - 2];
    const uint8_t nh = ct[ctLen - 1];
    if (padLen + 2 > ctLen) return drop(EspDrop::kTooShort);
    const uint8_t* pad = ct + ctLen - 2 - padLen;
    for (size_t i = 0; i < padLen; ++i) {
      // RFC 4303 2.4: the default pad is 1, 2, 3, ... and the receiver checks it.
      if (pad[i] != static_cast<uint8_t>(i + 1)) return drop(EspDrop::kPadding);
    }
    const size_t inner = ctLen - padLen - 2;
    (void)pkt.trimFront(kEspHeadroom);
    (void)pkt.trimBack(padLen + 2 + kEspIcvLength);
    nextHeader = nh;
    if (nh == kNextHeaderDummy) {
      ++counters_.dummyDiscarded;  // RFC 4303 2.6: the caller discards it
      return std::nullopt;
    }
    ++counters_.packetsOpened;
    counters_.bytesOpened += inner;
    return std::nullopt;
  }

  uint32_t spi() const override { return spi_; }
  const EspCounters& counters() const override { return counters_; }

 protected:
  void primeReplayWindow(uint64_t seq) override { (void)window_.update(seq); }

 private:
  EspDrop drop(EspDrop reason) {
    ++counters_.drops[static_cast<size_t>(reason)];
    return reason;
  }

  uint32_t spi_ = 0;
  bool esn_ = false;
  uint8_t salt_[kSaltLength] = {};
  ReplayWindow window_;
  Aead aead_;
  EspCounters counters_;
};

}  // namespace

std::optional<EspCipher> parseEspCipher(std::string_view name) {
  for (EspCipher c :
       {EspCipher::kAesGcm16_128, EspCipher::kAesGcm16_256, EspCipher::kChaCha20Poly1305}) {
    if (name == espCipherName(c)) return c;
  }
  return std::nullopt;
}

std::string_view espCipherName(EspCipher cipher) {
  switch (cipher) {
    case EspCipher::kAesGcm16_128:
      return "aes128gcm16";
    case EspCipher::kAesGcm16_256:
      return "aes256gcm16";
    case EspCipher::kChaCha20Poly1305:
      return "chacha20poly1305";
  }
  return "unknown";
}

size_t espKeymatLength(EspCipher cipher) {
  return cipherKeyLength(cipher) + kSaltLength;
}

std::string_view espDropName(EspDrop reason) {
  switch (reason) {
    case EspDrop::kTooShort:
      return "too_short";
    case EspDrop::kBadSpi:
      return "bad_spi";
    case EspDrop::kReplay:
      return "replay";
    case EspDrop::kIcv:
      return "icv";
    case EspDrop::kPadding:
      return "padding";
    case EspDrop::kCount:
      break;
  }
  return "unknown";
}

Result<std::unique_ptr<EspOutboundSa>> EspOutboundSa::create(const EspSaConfig& config) {
  if (Status s = checkConfig(config); !s) return s;
  auto sa = std::make_unique<OutboundSa>();
  if (Status s = sa->init(config); !s) return s;
  return std::unique_ptr<EspOutboundSa>(std::move(sa));
}

Result<std::unique_ptr<EspInboundSa>> EspInboundSa::create(const EspSaConfig& config) {
  if (Status s = checkConfig(config); !s) return s;
  if (config.replayWindow < ReplayWindow::kMinSize ||
      config.replayWindow > ReplayWindow::kMaxSize) {
    return Status(ErrorCode::kInvalidArgument,
                  "ESP replay window must be 64..4096, got " + std::to_string(config.replayWindow));
  }
  auto sa = std::make_unique<InboundSa>(config.replayWindow);
  if (Status s = sa->init(config); !s) return s;
  return std::unique_ptr<EspInboundSa>(std::move(sa));
}

Status EspInboundTable::add(std::unique_ptr<EspInboundSa> sa) {
  if (!sa) return {ErrorCode::kInvalidArgument, "null inbound SA"};
  const uint32_t spi = sa->spi();
  // RFC 4303 2.1: SPI 0 is never sent; over UDP it would read as the non-ESP marker.
  if (spi == 0) return {ErrorCode::kInvalidArgument, "inbound SPI 0 is reserved"};
  auto [it, inserted] = sas_.try_emplace(spi, nullptr);
  if (!inserted) return {ErrorCode::kAlreadyExists, "inbound SPI already present"};
  it->second = std::move(sa);
  return Status::ok();
}

bool EspInboundTable::remove(uint32_t spi) {
  return sas_.erase(spi) > 0;
}

EspInboundSa* EspInboundTable::find(uint32_t spi) const {
  auto it = sas_.find(spi);
  return it == sas_.end() ? nullptr : it->second.get();
}

std::optional<EspDrop> EspInboundTable::open(PacketBuffer& pkt, uint8_t& nextHeader) {
  if (pkt.size() < kMinEspLength) {
    ++counters_.drops[static_cast<size_t>(EspDrop::kTooShort)];
    return EspDrop::kTooShort;
  }
  EspInboundSa* sa = find(loadBe32(pkt.data()));
  if (sa == nullptr) {
    ++counters_.drops[static_cast<size_t>(EspDrop::kBadSpi)];
    return EspDrop::kBadSpi;
  }
  return sa->open(pkt, nextHeader);
}

UdpEncapKind classifyUdpEncap(Bytes payload) {
  // RFC 3948 2.3: a NAT-keepalive is the single octet 0xFF.
  if (payload.size() == 1 && payload[0] == 0xFF) return UdpEncapKind::kKeepalive;
  if (payload.size() < 4) return UdpEncapKind::kInvalid;
  const uint32_t first = loadBe32(payload.data());
  if (first == 0) {
    // RFC 3948 2.2: non-ESP marker; an IKE header (28 bytes, RFC 7296 3.1) follows.
    return payload.size() >= 4 + 28 ? UdpEncapKind::kIke : UdpEncapKind::kInvalid;
  }
  // RFC 3948 2.1: a non-zero SPI; at least SPI and sequence number must be present.
  return payload.size() >= kEspHeaderLength ? UdpEncapKind::kEsp : UdpEncapKind::kInvalid;
}

}  // namespace braid::ipsec
