#include "ipsec/ike/crypto_dh.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/dh.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>

#include <vector>

namespace braid::ike {
namespace {

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
  void operator()(BIGNUM* p) const { BN_clear_free(p); }
  void operator()(BN_CTX* p) const { BN_CTX_free(p); }
  void operator()(EC_GROUP* p) const { EC_GROUP_free(p); }
  void operator()(EC_POINT* p) const { EC_POINT_free(p); }
  void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); }
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
template <typename T>
using Ptr = std::unique_ptr<T, Free>;

enum class Kind { kModp, kEcp, kX25519 };

struct GroupInfo {
  Kind kind;
  const char* name;  // OpenSSL group name
  int nid;           // EC curve NID
  size_t publicLength;
  size_t secretLength;
  BIGNUM* (*prime)(BIGNUM*) = nullptr;  // MODP: the RFC 3526 modulus
};

std::optional<GroupInfo> info(DhGroup g) {
  switch (g) {
    case DhGroup::kModp2048:
      return GroupInfo{Kind::kModp, "modp_2048", 0, 256, 256, BN_get_rfc3526_prime_2048};
    case DhGroup::kModp3072:
      return GroupInfo{Kind::kModp, "modp_3072", 0, 384, 384, BN_get_rfc3526_prime_3072};
    case DhGroup::kModp4096:
      return GroupInfo{Kind::kModp, "modp_4096", 0, 512, 512, BN_get_rfc3526_prime_4096};
    case DhGroup::kEcp256:
      return GroupInfo{Kind::kEcp, "P-256", NID_X9_62_prime256v1, 64, 32};
    case DhGroup::kEcp384:
      return GroupInfo{Kind::kEcp, "P-384", NID_secp384r1, 96, 48};
    case DhGroup::kEcp521:
      // RFC 5903 7: 521-bit coordinates take 66 bytes each (leading bits zero).
      return GroupInfo{Kind::kEcp, "P-521", NID_secp521r1, 132, 66};
    case DhGroup::kCurve25519:
      return GroupInfo{Kind::kX25519, "X25519", 0, 32, 32};
    default:
      return std::nullopt;
  }
}

Status cryptoError(const char* what) {
  return Status(ErrorCode::kCryptoError, std::string("DH: ") + what + " failed");
}
Status invalidPeer(std::string what) {
  return Status(ErrorCode::kInvalidArgument, "DH: invalid peer public value: " + what);
}

// EVP_PKEY from parameters built by `fill` (group name + key material).
template <typename Fill>
Ptr<EVP_PKEY> fromData(const char* type, int selection, Fill fill) {
  Ptr<OSSL_PARAM_BLD> bld(OSSL_PARAM_BLD_new());
  if (!bld || !fill(bld.get())) return nullptr;
  Ptr<OSSL_PARAM> params(OSSL_PARAM_BLD_to_param(bld.get()));
  Ptr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, selection, params.get()) != 1) {
    return nullptr;
  }
  return Ptr<EVP_PKEY>(pkey);
}

class EvpKeyExchange final : public KeyExchange {
 public:
  EvpKeyExchange(DhGroup group, GroupInfo gi, Ptr<EVP_PKEY> key)
      : group_(group), info_(gi), key_(std::move(key)) {}

  Status init() {
    switch (info_.kind) {
      case Kind::kModp: {
        BIGNUM* pub = nullptr;
        if (EVP_PKEY_get_bn_param(key_.get(), OSSL_PKEY_PARAM_PUB_KEY, &pub) != 1) {
          return cryptoError("reading public key");
        }
        Ptr<BIGNUM> owned(pub);
        public_.resize(info_.publicLength);
        if (BN_bn2binpad(pub, public_.data(), static_cast<int>(public_.size())) < 0) {
          return cryptoError("encoding public key");
        }
        return Status::ok();
      }
      case Kind::kEcp: {
        // Uncompressed point 0x04 || x || y; RFC 5903 7 drops the 0x04.
        std::vector<uint8_t> point(1 + info_.publicLength);
        size_t len = 0;
        if (EVP_PKEY_get_octet_string_param(key_.get(), OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                            point.data(), point.size(), &len) != 1 ||
            len != point.size() || point[0] != 0x04) {
          return cryptoError("reading public point");
        }
        public_.assign(point.begin() + 1, point.end());
        return Status::ok();
      }
      case Kind::kX25519: {
        public_.resize(32);
        size_t len = public_.size();
        if (EVP_PKEY_get_raw_public_key(key_.get(), public_.data(), &len) != 1 || len != 32) {
          return cryptoError("reading public key");
        }
        return Status::ok();
      }
    }
    return cryptoError("init");
  }

  DhGroup group() const override { return group_; }
  Bytes publicValue() const override { return public_; }

  Result<SecretBytes> computeSharedSecret(Bytes peer) const override {
    if (peer.size() != info_.publicLength) {
      return invalidPeer("length " + std::to_string(peer.size()) + ", expected " +
                         std::to_string(info_.publicLength));
    }
    auto peerKey = peerKeyFrom(peer);
    if (!peerKey) return peerKey.status();
    Ptr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key_.get(), nullptr));
    if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1) return cryptoError("derive init");
    // RFC 7296 2.14: g^ir is padded with zeros to the modulus length.
    if (info_.kind == Kind::kModp && EVP_PKEY_CTX_set_dh_pad(ctx.get(), 1) != 1) {
      return cryptoError("set padding");
    }
    if (EVP_PKEY_derive_set_peer_ex(ctx.get(), peerKey->get(), 0) != 1) {
      return cryptoError("set peer");
    }
    SecretBytes secret(info_.secretLength);
    size_t len = secret.size();
    if (EVP_PKEY_derive(ctx.get(), secret.data(), &len) != 1) {
      // OpenSSL refuses an all-zero X25519 output (RFC 7748 6.1): a bad peer value.
      if (info_.kind == Kind::kX25519) return invalidPeer("all-zero X25519 shared secret");
      return cryptoError("derive");
    }
    if (len != secret.size()) return cryptoError("derive length");
    if (info_.kind == Kind::kX25519) {
      static const uint8_t kZero[32] = {};
      if (CRYPTO_memcmp(secret.data(), kZero, 32) == 0) {
        return invalidPeer("all-zero X25519 shared secret");
      }
    }
    return secret;
  }

 private:
  Result<Ptr<EVP_PKEY>> peerKeyFrom(Bytes peer) const {
    switch (info_.kind) {
      case Kind::kModp: {
        // RFC 6989 2.1: 1 < y < p - 1.
        Ptr<BIGNUM> y(BN_bin2bn(peer.data(), static_cast<int>(peer.size()), nullptr));
        Ptr<BIGNUM> p(info_.prime(nullptr));
        Ptr<BIGNUM> pMinus1(BN_new());
        if (!y || !p || !pMinus1 || !BN_sub(pMinus1.get(), p.get(), BN_value_one())) {
          return cryptoError("bignum");
        }
        if (BN_cmp(y.get(), BN_value_one()) <= 0 || BN_cmp(y.get(), pMinus1.get()) >= 0) {
          return invalidPeer("MODP value not in (1, p-1)");
        }
        auto key = fromData("DH", EVP_PKEY_PUBLIC_KEY, [&](OSSL_PARAM_BLD* b) {
          return OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, info_.name, 0) &&
                 OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_PUB_KEY, y.get());
        });
        if (!key) return cryptoError("peer key");
        return key;
      }
      case Kind::kEcp: {
        // RFC 6989 2.3 / RFC 5903 7: x || y must be a point on the curve, not infinity.
        std::vector<uint8_t> point(1 + peer.size());
        point[0] = 0x04;
        std::memcpy(point.data() + 1, peer.data(), peer.size());
        Ptr<EC_GROUP> group(EC_GROUP_new_by_curve_name(info_.nid));
        if (!group) return cryptoError("EC group");
        Ptr<EC_POINT> pt(EC_POINT_new(group.get()));
        if (!pt) return cryptoError("EC point");
        if (EC_POINT_oct2point(group.get(), pt.get(), point.data(), point.size(), nullptr) != 1) {
          return invalidPeer("not a point on " + std::string(info_.name));
        }
        if (EC_POINT_is_at_infinity(group.get(), pt.get()) ||
            EC_POINT_is_on_curve(group.get(), pt.get(), nullptr) != 1) {
          return invalidPeer("not a point on " + std::string(info_.name));
        }
        auto key = fromData("EC", EVP_PKEY_PUBLIC_KEY, [&](OSSL_PARAM_BLD* b) {
          return OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, info_.name, 0) &&
                 OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                                  point.size());
        });
        if (!key) return invalidPeer("rejected by OpenSSL");
        return key;
      }
      case Kind::kX25519: {
        Ptr<EVP_PKEY> key(
            EVP_PKEY_new_raw_public_key_ex(nullptr, "X25519", nullptr, peer.data(), peer.size()));
        if (!key) return cryptoError("peer key");
        return key;
      }
    }
    return cryptoError("peer key");
  }

  DhGroup group_;
  GroupInfo info_;
  Ptr<EVP_PKEY> key_;
  std::vector<uint8_t> public_;
};

Result<std::unique_ptr<KeyExchange>> finish(DhGroup group, const GroupInfo& gi, Ptr<EVP_PKEY> key) {
  if (!key) return cryptoError("key generation");
  auto kex = std::make_unique<EvpKeyExchange>(group, gi, std::move(key));
  if (Status st = kex->init(); !st) return st;
  return std::unique_ptr<KeyExchange>(std::move(kex));
}

}  // namespace

bool isDhGroupSupported(DhGroup group) {
  return info(group).has_value();
}

size_t dhPublicValueLength(DhGroup group) {
  auto gi = info(group);
  return gi ? gi->publicLength : 0;
}

size_t dhSharedSecretLength(DhGroup group) {
  auto gi = info(group);
  return gi ? gi->secretLength : 0;
}

Result<std::unique_ptr<KeyExchange>> KeyExchange::create(DhGroup group) {
  auto gi = info(group);
  if (!gi) {
    return Status(ErrorCode::kInvalidArgument,
                  "unsupported DH group " + std::to_string(static_cast<int>(group)));
  }
  Ptr<EVP_PKEY> key;
  switch (gi->kind) {
    case Kind::kModp: {
      Ptr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "DH", nullptr));
      OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                                              const_cast<char*>(gi->name), 0),
                             OSSL_PARAM_construct_end()};
      EVP_PKEY* pkey = nullptr;
      if (ctx && EVP_PKEY_keygen_init(ctx.get()) == 1 &&
          EVP_PKEY_CTX_set_params(ctx.get(), params) == 1 &&
          EVP_PKEY_generate(ctx.get(), &pkey) == 1) {
        key.reset(pkey);
      }
      break;
    }
    case Kind::kEcp:
      key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", gi->name));
      break;
    case Kind::kX25519:
      key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"));
      break;
  }
  return finish(group, *gi, std::move(key));
}

Result<std::unique_ptr<KeyExchange>> KeyExchange::createWithPrivateKey(DhGroup group,
                                                                       Bytes privateKey) {
  auto gi = info(group);
  if (!gi) {
    return Status(ErrorCode::kInvalidArgument,
                  "unsupported DH group " + std::to_string(static_cast<int>(group)));
  }
  Ptr<EVP_PKEY> key;
  switch (gi->kind) {
    case Kind::kModp: {
      if (privateKey.empty() || privateKey.size() > gi->publicLength) {
        return Status(ErrorCode::kInvalidArgument, "DH: bad MODP private key length");
      }
      // OpenSSL 3.0 does not derive the public value on import: y = g^x mod p.
      Ptr<BIGNUM> x(BN_bin2bn(privateKey.data(), static_cast<int>(privateKey.size()), nullptr));
      Ptr<BIGNUM> p(gi->prime(nullptr));
      Ptr<BIGNUM> g(BN_new());
      Ptr<BIGNUM> y(BN_new());
      Ptr<BN_CTX> bnCtx(BN_CTX_new());
      if (!x || !p || !g || !y || !bnCtx || !BN_set_word(g.get(), 2) ||
          !BN_mod_exp(y.get(), g.get(), x.get(), p.get(), bnCtx.get())) {
        return cryptoError("MODP public value");
      }
      key = fromData("DH", EVP_PKEY_KEYPAIR, [&](OSSL_PARAM_BLD* b) {
        return OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, gi->name, 0) &&
               OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_PRIV_KEY, x.get()) &&
               OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_PUB_KEY, y.get());
      });
      break;
    }
    case Kind::kEcp: {
      if (privateKey.size() != gi->secretLength) {
        return Status(ErrorCode::kInvalidArgument, "DH: bad EC private key length");
      }
      Ptr<EC_GROUP> ecGroup(EC_GROUP_new_by_curve_name(gi->nid));
      Ptr<BIGNUM> d(BN_bin2bn(privateKey.data(), static_cast<int>(privateKey.size()), nullptr));
      if (!ecGroup || !d) return cryptoError("EC private key");
      Ptr<EC_POINT> q(EC_POINT_new(ecGroup.get()));
      std::vector<uint8_t> point(1 + gi->publicLength);
      if (!q || EC_POINT_mul(ecGroup.get(), q.get(), d.get(), nullptr, nullptr, nullptr) != 1 ||
          EC_POINT_point2oct(ecGroup.get(), q.get(), POINT_CONVERSION_UNCOMPRESSED, point.data(),
                             point.size(), nullptr) != point.size()) {
        return cryptoError("EC public point");
      }
      key = fromData("EC", EVP_PKEY_KEYPAIR, [&](OSSL_PARAM_BLD* b) {
        return OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, gi->name, 0) &&
               OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_PRIV_KEY, d.get()) &&
               OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                                point.size());
      });
      break;
    }
    case Kind::kX25519: {
      if (privateKey.size() != 32) {
        return Status(ErrorCode::kInvalidArgument, "DH: X25519 private key must be 32 bytes");
      }
      key.reset(EVP_PKEY_new_raw_private_key_ex(nullptr, "X25519", nullptr, privateKey.data(),
                                                privateKey.size()));
      break;
    }
  }
  return finish(group, *gi, std::move(key));
}

}  // namespace braid::ike
