#include "bench/ike_setup_support.hpp"
#include "core/log.hpp"

#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>

namespace braid::ike::bench {

void logLikeBraidd() {
  Logger::instance().setLevel(LogLevel::kInfo);
  Logger::instance().setSink([](LogLevel level, std::string_view component, std::string_view line) {
    if (level >= LogLevel::kWarn) {
      std::fprintf(stderr, "%.*s: %.*s\n", int(component.size()), component.data(),
                   int(line.size()), line.data());
    }
  });
}

// ---- PKI ----------------------------------------------------------------------------------
namespace {

Result<PrivateKey> generate(KeyType type) {
  return type == KeyType::kRsa ? PrivateKey::generateRsa(3072) : PrivateKey::generateEc(type);
}

// A v3 certificate for `key`, signed by `issuerKey` (self-signed when issuerCert is null).
Result<Certificate> makeCert(const PrivateKey& key, const std::string& cn, bool ca,
                             const std::string& san, const PrivateKey& issuerKey,
                             X509* issuerCert) {
  X509* x = X509_new();
  if (x == nullptr) return errorStatus(ErrorCode::kCryptoError, "X509_new");
  static long serial = 1;
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600L);
  X509_gmtime_adj(X509_getm_notAfter(x), 7L * 86400L);
  X509_set_pubkey(x, key.get());
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const uint8_t*>("braid bench"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const uint8_t*>(cn.c_str()),
                             -1, -1, 0);
  X509_set_issuer_name(x, issuerCert ? X509_get_subject_name(issuerCert) : name);
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuerCert ? issuerCert : x, x, nullptr, nullptr, 0);
  bool extOk = true;
  auto ext = [&](int nid, const std::string& value) {
    X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (e == nullptr) {
      extOk = false;
      return;
    }
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
  };
  ext(NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  ext(NID_key_usage, ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
  ext(NID_subject_key_identifier, "hash");
  if (!san.empty()) ext(NID_subject_alt_name, san);
  if (!extOk || X509_sign(x, issuerKey.get(), EVP_sha256()) <= 0) {
    X509_free(x);
    return errorStatus(ErrorCode::kCryptoError, "certificate for " + cn);
  }
  Certificate c = Certificate::fromX509(x);
  X509_free(x);
  return c;
}

}  // namespace

Result<BenchPki> makePki(KeyType type) {
  auto key = generate(type);
  if (!key) return key.status();
  auto ca = makeCert(*key, "braid bench CA", true, "", *key, nullptr);
  if (!ca) return ca.status();
  BenchPki p;
  p.caKey = *key;
  p.ca = *ca;
  p.store = std::make_shared<TrustStore>();
  if (Status s = p.store->addCa(p.ca); !s) return s;
  return p;
}

Result<BenchCreds> issueLeaf(const BenchPki& pki, KeyType type, const std::string& fqdn) {
  auto key = generate(type);
  if (!key) return key.status();
  auto cert = makeCert(*key, fqdn, false, "DNS:" + fqdn, pki.caKey, pki.ca.get());
  if (!cert) return cert.status();
  return BenchCreds{*key, *cert};
}

// ---- configs ------------------------------------------------------------------------------
const char* benchAuthName(BenchAuth a) {
  switch (a) {
    case BenchAuth::kPsk:
      return "psk";
    case BenchAuth::kEcdsaP256:
      return "ecdsa-p256";
    case BenchAuth::kRsa3072:
      return "rsa-3072";
  }
  return "?";
}

namespace {
constexpr const char* kInitiatorFqdn = "init.bench";
constexpr const char* kResponderFqdn = "resp.bench";
constexpr const char* kPsk = "bench-psk-0123456789abcdef0123456789abcdef";
}  // namespace

Result<BenchIdentities> makeIdentities(BenchAuth auth) {
  BenchIdentities ids;
  ids.auth = auth;
  if (auth == BenchAuth::kPsk) return ids;
  KeyType type = auth == BenchAuth::kRsa3072 ? KeyType::kRsa : KeyType::kEcP256;
  auto pki = makePki(type);
  if (!pki) return pki.status();
  auto i = issueLeaf(*pki, type, kInitiatorFqdn);
  if (!i) return i.status();
  auto r = issueLeaf(*pki, type, kResponderFqdn);
  if (!r) return r.status();
  ids.cas = pki->store;
  ids.initiator = *i;
  ids.responder = *r;
  return ids;
}

const BenchIdentities* cachedIdentities(BenchAuth auth) {
  static std::map<BenchAuth, std::optional<BenchIdentities>> cache;
  auto it = cache.find(auth);
  if (it == cache.end()) {
    auto ids = makeIdentities(auth);
    if (!ids) {
      std::fprintf(stderr, "cannot make %s credentials: %s\n", benchAuthName(auth),
                   ids.status().message().c_str());
    }
    it = cache.emplace(auth, ids ? std::optional(*ids) : std::nullopt).first;
  }
  return it->second ? &*it->second : nullptr;
}

PeerConfig makePeerConfig(const BenchIdentities& ids, bool initiator, const Endpoint& remote,
                          const std::string& ikeProposal) {
  PeerConfig pc;
  pc.name = initiator ? "to-resp" : "to-init";
  pc.remote = remote;
  pc.ikeProposals = parseProposals(ikeProposal, ProtocolId::kIke).value();
  const char* me = initiator ? kInitiatorFqdn : kResponderFqdn;
  const char* peer = initiator ? kResponderFqdn : kInitiatorFqdn;
  pc.localId = Identity::fqdn(me);
  pc.remoteId = Identity::fqdn(peer);
  if (ids.auth == BenchAuth::kPsk) {
    pc.localAuth.kind = pc.remoteAuth.kind = AuthKind::kPsk;
    pc.localAuth.psk = SecretBytes(asBytes(kPsk));
    pc.remoteAuth.psk = SecretBytes(asBytes(kPsk));
  } else {
    const BenchCreds& mine = initiator ? ids.initiator : ids.responder;
    pc.localAuth.kind = pc.remoteAuth.kind = AuthKind::kPubkey;
    pc.localAuth.key = mine.key;
    pc.localAuth.certs = {mine.cert};
    pc.remoteAuth.cas = ids.cas;
  }
  ChildConfig c;
  c.name = "net";
  c.espProposals = parseProposals("aes256gcm16", ProtocolId::kEsp).value();
  auto a = TrafficSelector::fromPrefix(*IpPrefix::parse("10.1.0.0/16"));
  auto b = TrafficSelector::fromPrefix(*IpPrefix::parse("10.2.0.0/16"));
  c.localTs = {initiator ? a : b};
  c.remoteTs = {initiator ? b : a};
  pc.children.push_back(std::move(c));
  pc.retryInitial = Duration{};  // a failed setup is a benchmark error, not a retry
  return pc;
}

// ---- loopback pair ------------------------------------------------------------------------
namespace {
Endpoint endpointOf(const sockaddr_in& sa) {
  return Endpoint{IpAddress::v4(ntohl(sa.sin_addr.s_addr)), ntohs(sa.sin_port)};
}
sockaddr_in sockaddrOf(const Endpoint& e) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(e.port);
  sa.sin_addr.s_addr = htonl(e.address.v4HostOrder());
  return sa;
}
}  // namespace

UdpParty::UdpParty() : buf_(65536) {
  fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  if (bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
      getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
    close(fd_);
    fd_ = -1;
    return;
  }
  local_ = endpointOf(sa);
}

UdpParty::~UdpParty() {
  mgr_.reset();  // its SAs may still send (nothing is delivered any more)
  if (fd_ >= 0) close(fd_);
}

void UdpParty::sendDatagram(const Endpoint& local, const Endpoint& remote, Bytes data) {
  (void)local;  // one socket per party: always its own address
  sockaddr_in to = sockaddrOf(remote);
  ssize_t n = sendto(fd_, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  if (n != static_cast<ssize_t>(data.size())) {
    ++sendErrors;
    return;
  }
  ++datagramsSent;
  bytesSent += data.size();
}

size_t UdpParty::drain() {
  size_t n = 0;
  for (;;) {
    sockaddr_in from{};
    socklen_t len = sizeof from;
    ssize_t got =
        recvfrom(fd_, buf_.data(), buf_.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (got < 0) break;  // EAGAIN: the queue is empty
    ++n;
    if (mgr_) mgr_->receive(local_, endpointOf(from), Bytes(buf_.data(), size_t(got)));
  }
  return n;
}

LoopbackPair::LoopbackPair() {
  init_.attach(std::make_unique<SaManager>(clock_, timers_, init_, init_));
  resp_.attach(std::make_unique<SaManager>(clock_, timers_, resp_, resp_));
}

Status LoopbackPair::configure(const BenchIdentities& ids, const std::string& ikeProposal) {
  if (!ok()) return errorStatus(ErrorCode::kInternal, "cannot bind UDP sockets on 127.0.0.1");
  if (Status s = init_.mgr().addPeer(makePeerConfig(ids, true, resp_.local(), ikeProposal)); !s) {
    return s;
  }
  return resp_.mgr().addPeer(makePeerConfig(ids, false, init_.local(), ikeProposal));
}

bool LoopbackPair::pumpUntil(const std::function<bool()>& done, Duration timeout) {
  const TimePoint end = clock_.now() + timeout;
  pollfd fds[2] = {{init_.fd(), POLLIN, 0}, {resp_.fd(), POLLIN, 0}};
  for (;;) {
    timers_.runUntil(clock_.now());
    if (done()) return true;
    TimePoint now = clock_.now();
    if (now >= end) return false;
    TimePoint wake = end;
    if (auto next = timers_.nextDeadline()) wake = std::min(wake, *next);
    auto wait = std::max<Duration>(wake - now, Duration{});
    timespec ts{static_cast<time_t>(wait.count() / 1000000000),
                static_cast<long>(wait.count() % 1000000000)};
    int r = ppoll(fds, 2, &ts, nullptr);
    if (r < 0 && errno != EINTR) return false;
    if (r > 0) {
      // Either order is fine: a datagram a manager sends while we drain the other socket
      // waits in the kernel until the next round.
      if (fds[0].revents & POLLIN) init_.drain();
      if (fds[1].revents & POLLIN) resp_.drain();
    }
  }
}

Status LoopbackPair::setupOnce(Duration timeout) {
  const uint64_t ikeI = init_.ikeUp, ikeR = resp_.ikeUp;
  const uint64_t childI = init_.childUp, childR = resp_.childUp;
  const uint64_t failed = init_.failures + resp_.failures;
  if (Status s = init_.mgr().initiate("to-resp", init_.local()); !s) return s;
  bool finished = pumpUntil(
      [&] {
        bool up = init_.ikeUp > ikeI && resp_.ikeUp > ikeR && init_.childUp > childI &&
                  resp_.childUp > childR;
        return up || init_.failures + resp_.failures > failed;
      },
      timeout);
  if (init_.failures + resp_.failures > failed) {
    std::string why = init_.lastFailure.empty() ? resp_.lastFailure : init_.lastFailure;
    return errorStatus(ErrorCode::kPermissionDenied, "setup failed: " + why);
  }
  if (!finished) return errorStatus(ErrorCode::kUnavailable, "setup timed out");
  return Status::ok();
}

Status LoopbackPair::teardown(Duration timeout) {
  if (Status s = init_.mgr().deleteIkeSa("to-resp"); !s) return s;
  bool gone = pumpUntil(
      [&] { return init_.mgr().ikeSaCount() == 0 && resp_.mgr().ikeSaCount() == 0; }, timeout);
  return gone ? Status::ok() : errorStatus(ErrorCode::kUnavailable, "teardown timed out");
}

}  // namespace braid::ike::bench
