#include "ike_harness.hpp"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace braid::ike::test {

KeyExchangeFactory seededKeyExchange(uint64_t seed) {
  auto rng = std::make_shared<SeededRandom>(seed);
  return [rng](DhGroup g) -> Result<std::unique_ptr<KeyExchange>> {
    size_t n = g == DhGroup::kEcp384 ? 48 : g == DhGroup::kEcp521 ? 66 : 32;
    ByteVec priv(n);
    rng->fill(priv);
    priv[0] &= 0x7F;  // below every curve order
    priv[0] |= 0x01;
    if (g == DhGroup::kEcp521) priv[0] = 0;  // P-521's order is just above 2^520
    return KeyExchange::createWithPrivateKey(g, priv);
  };
}

namespace {
void setup(Party& p, const std::string& name, const char* addr, uint64_t seed, TwoParty& t,
           std::shared_ptr<SpiAllocator> spis = {}) {
  p.name = name;
  p.addr = Endpoint{*IpAddress::parse(addr), kIkePort};
  SaManagerOptions o;
  o.random = std::make_unique<SeededRandom>(seed * 7919);
  o.keyExchange = seededKeyExchange(seed);
  o.keySink = &p.keys;
  o.deterministicIvs = true;
  o.spis = std::move(spis);
  p.mgr = std::make_unique<SaManager>(t.clock, t.timers, p.net, p.events, std::move(o));
}
}  // namespace

TwoParty::TwoParty(uint64_t seedA, uint64_t seedB, std::shared_ptr<SpiAllocator> spisA) {
  setup(a, "a", "10.0.0.1", seedA, *this, std::move(spisA));
  setup(b, "b", "10.0.0.2", seedB, *this);
}

Datagram TwoParty::deliver(Party& from, size_t index) {
  EXPECT_LT(index, from.net.out.size()) << "nothing to deliver from " << from.name;
  if (index >= from.net.out.size()) return {};
  Datagram d = from.net.out[index];
  from.net.out.erase(from.net.out.begin() + static_cast<long>(index));
  Endpoint src = d.local, dst = d.remote;
  if (natA && &from == &a) {
    src = Endpoint{natA->address, static_cast<uint16_t>(natA->port + (d.local.port == kNattPort))};
  } else if (natA && &from == &b && dst.address == natA->address) {
    dst = Endpoint{a.addr.address, dst.port == natA->port ? kIkePort : kNattPort};
  }
  other(from).mgr->receive(dst, src, d.data);
  return d;
}

Datagram TwoParty::drop(Party& from, size_t index) {
  Datagram d = from.net.out.at(index);
  from.net.out.erase(from.net.out.begin() + static_cast<long>(index));
  return d;
}

void TwoParty::duplicate(Party& from, size_t index) {
  Datagram d = from.net.out.at(index);
  from.net.out.insert(from.net.out.begin() + static_cast<long>(index), d);
  deliver(from, index);
}

size_t TwoParty::run(size_t limit) {
  size_t n = 0;
  while (n < limit && (!a.net.out.empty() || !b.net.out.empty())) {
    if (!a.net.out.empty()) {
      deliver(a);
      ++n;
    }
    if (!b.net.out.empty()) {
      deliver(b);
      ++n;
    }
  }
  return n;
}

bool TwoParty::rewrite(Party& from, const std::function<void(Message&)>& edit, size_t index) {
  EXPECT_LT(index, from.net.out.size()) << "nothing to rewrite from " << from.name;
  if (index >= from.net.out.size()) return false;
  Message m;
  ByteVec& data = from.net.out[index].data;
  EXPECT_FALSE(m.parse(data));
  // The IKE initiator's SPI names the SA at the side that set the Initiator flag.
  bool fromInitiator = m.header.initiator();
  IkeSa* sender = from.mgr->findBySpi(fromInitiator ? m.header.spiI : m.header.spiR);
  IkeSa* receiver = other(from).mgr->findBySpi(fromInitiator ? m.header.spiR : m.header.spiI);
  EXPECT_TRUE(sender && receiver && m.hasSk() && receiver->inCipher());
  if (!sender || !receiver || !m.hasSk() || !receiver->inCipher()) return false;
  auto e = m.decrypt(*receiver->inCipher());
  EXPECT_FALSE(e) << e->reason;
  if (e) return false;
  edit(m);
  auto bytes = m.encode(sender->outCipher());
  EXPECT_TRUE(bytes.isOk()) << bytes.status().message();
  if (!bytes) return false;
  data = std::move(bytes.value());
  return true;
}

namespace {
class InjectedTask final : public Task {
 public:
  InjectedTask(IkeSa& sa, ExchangeType exchange, std::function<void(Message&)> build,
               std::function<void(const Message&)> onResponse)
      : Task(sa),
        exchange_(exchange),
        build_(std::move(build)),
        onResponse_(std::move(onResponse)) {}
  TaskKind kind() const override {
    return exchange_ == ExchangeType::kCreateChildSa ? TaskKind::kChildCreate
                                                     : TaskKind::kInformational;
  }
  ExchangeType exchange() const override { return exchange_; }
  std::string_view name() const override { return "TEST_INJECTED"; }
  TaskResult buildRequest(Message& m) override {
    build_(m);
    return TaskResult::kNeedMore;
  }
  TaskResult processResponse(const Message& m) override {
    if (onResponse_) onResponse_(m);
    return TaskResult::kDone;
  }
  TaskResult processRequest(const Message&) override { return TaskResult::kDone; }
  TaskResult buildResponse(Message&) override { return TaskResult::kDone; }

 private:
  ExchangeType exchange_;
  std::function<void(Message&)> build_;
  std::function<void(const Message&)> onResponse_;
};
}  // namespace

void injectRequest(IkeSa& sa, ExchangeType exchange, std::function<void(Message&)> build,
                   std::function<void(const Message&)> onResponse) {
  sa.tasks().queue(
      std::make_unique<InjectedTask>(sa, exchange, std::move(build), std::move(onResponse)));
  sa.tasks().initiate();
}

std::vector<Proposal> proposals(const std::string& text, ProtocolId protocol) {
  auto p = parseProposals(text, protocol);
  EXPECT_TRUE(p.isOk()) << p.status().message();
  return p.isOk() ? *p : std::vector<Proposal>{};
}

TrafficSelector ts(const std::string& prefix) {
  return TrafficSelector::fromPrefix(*IpPrefix::parse(prefix));
}

PeerConfig pskPeer(const std::string& name, const IpAddress& remote, const std::string& localId,
                   const std::string& remoteId, const std::string& psk) {
  PeerConfig pc;
  pc.name = name;
  pc.remote = Endpoint{remote, kIkePort};
  pc.ikeProposals = proposals("aes256gcm16-prfsha256-x25519", ProtocolId::kIke);
  pc.localId = *Identity::parse(localId);
  pc.remoteId = *Identity::parse(remoteId);
  pc.localAuth.kind = AuthKind::kPsk;
  pc.localAuth.psk = SecretBytes(asBytes(psk));
  pc.remoteAuth.kind = AuthKind::kPsk;
  pc.remoteAuth.psk = SecretBytes(asBytes(psk));
  pc.retransmit.initial = std::chrono::seconds(1);
  pc.retransmit.base = 2.0;
  pc.retransmit.tries = 3;
  pc.retryInitial = Duration{};  // tests opt in to initiator retries
  return pc;
}

ChildConfig child(const std::string& name, std::vector<TrafficSelector> local,
                  std::vector<TrafficSelector> remote, const std::string& esp) {
  ChildConfig c;
  c.name = name;
  c.espProposals = proposals(esp, ProtocolId::kEsp);
  c.localTs = std::move(local);
  c.remoteTs = std::move(remote);
  return c;
}

namespace {
Certificate makeCert(const PrivateKey& key, const std::string& cn, const TestPki* issuer, bool ca,
                     const std::string& san) {
  X509* x = X509_new();
  X509_set_version(x, 2);
  static long serial = 100;
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
  X509_gmtime_adj(X509_getm_notBefore(x), -86400L);
  X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400L);
  X509_set_pubkey(x, key.get());
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const uint8_t*>("braid ike"),
                             -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const uint8_t*>(cn.c_str()),
                             -1, -1, 0);
  X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer->ca.get()) : name);
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer ? issuer->ca.get() : x, x, nullptr, nullptr, 0);
  auto ext = [&](int nid, const char* value) {
    X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (e != nullptr) {
      X509_add_ext(x, e, -1);
      X509_EXTENSION_free(e);
    }
  };
  ext(NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  ext(NID_key_usage, ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
  ext(NID_subject_key_identifier, "hash");
  if (!san.empty()) ext(NID_subject_alt_name, san.c_str());
  X509_sign(x, issuer ? issuer->caKey.get() : key.get(), EVP_sha256());
  Certificate c = Certificate::fromX509(x);
  X509_free(x);
  return c;
}
}  // namespace

TestPki makePki() {
  TestPki p;
  p.caKey = *PrivateKey::generateEc(KeyType::kEcP256);
  p.ca = makeCert(p.caKey, "braid ike test CA", nullptr, true, "");
  p.store = std::make_shared<TrustStore>();
  EXPECT_TRUE(p.store->addCa(p.ca).isOk());
  return p;
}

Certificate issueLeaf(const TestPki& pki, const PrivateKey& key, const std::string& fqdn) {
  return makeCert(key, fqdn, &pki, false, "DNS:" + fqdn);
}

}  // namespace braid::ike::test
