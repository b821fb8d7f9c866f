// [pathmon], [policy], [[class]] and [[rule]]: the multipath configuration
// (docs/configuration.md "Multipath", docs/multipath.md section 1). Every problem is
// reported as `file:line:col: what is wrong; what is expected`.
#include <charconv>
#include <cmath>

#include "edge/config_checker.hpp"

namespace braid::edge::detail {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// A number (integer or float) in lo..hi.
std::optional<double> number(Checker& c, const toml::table& t, const std::string& path,
                             std::string_view key, double lo, double hi) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return std::nullopt;
  std::ostringstream range;
  range << "a number in " << lo << ".." << hi;
  double v = 0;
  if (n->is_integer()) {
    v = static_cast<double>(n->as_integer()->get());
  } else if (n->is_floating_point()) {
    v = n->as_floating_point()->get();
  } else {
    c.error(*n, "'" + joinPath(path, key) + "' is " + typeName(n->type()) + "; expected " +
                    range.str());
    return std::nullopt;
  }
  if (!(v >= lo && v <= hi)) {
    std::ostringstream os;
    os << v;
    c.error(*n, "'" + joinPath(path, key) + "' = " + os.str() + " is out of range; expected " +
                    range.str());
    return std::nullopt;
  }
  return v;
}

// One of `names` (as text); its index, or nullopt (error reported).
std::optional<size_t> choice(Checker& c, const toml::table& t, const std::string& path,
                             std::string_view key, std::initializer_list<std::string_view> names) {
  std::string expected;
  for (auto n : names) expected += (expected.empty() ? "" : ", ") + std::string(n);
  auto s = c.str(t, path, key, false, "one of " + expected);
  if (!s) return std::nullopt;
  size_t i = 0;
  for (auto n : names) {
    if (*s == n) return i;
    ++i;
  }
  c.error(*t.get(key),
          "'" + joinPath(path, key) + "' = \"" + *s + "\" is unknown; expected one of " + expected);
  return std::nullopt;
}

void pathmonTable(Checker& c, const toml::table& root, pathmon::PathConfig& pc) {
  const toml::table* t = c.table(root, "", "pathmon", false, "a table [pathmon]");
  if (t == nullptr) return;
  const std::string p = "pathmon";
  c.allowOnly(
      *t, p,
      {"probe_interval_ms", "idle_interval_ms", "metered_idle_interval_ms", "dead_interval_ms",
       "detect_multiplier", "silence_floor_ms", "loss_timeout_floor_ms", "loss_window",
       "recover_probes", "hold_down_ms", "max_hold_down_ms", "flap_window_s", "degrade_loss",
       "degrade_rtt_ms", "esp_silence_ms", "liveness_timeout_ms", "round_trip_check_ms"});
  auto ms = [&](std::string_view key, int64_t lo, int64_t hi, Duration& out) {
    if (auto v = c.integer(*t, p, key, false, lo, hi)) out = milliseconds(*v);
  };
  // 5 ms is below any sensible probe interval on a WAN, and keeps the probe load bounded.
  ms("probe_interval_ms", 5, 10'000, pc.activeInterval);
  ms("idle_interval_ms", 5, 60'000, pc.idleInterval);
  ms("metered_idle_interval_ms", 5, 600'000, pc.meteredIdleInterval);
  ms("dead_interval_ms", 5, 60'000, pc.deadInterval);
  ms("silence_floor_ms", 1, 60'000, pc.silenceFloor);
  ms("loss_timeout_floor_ms", 1, 60'000, pc.lossTimeoutFloor);
  ms("hold_down_ms", 0, 3'600'000, pc.holdDown);
  ms("max_hold_down_ms", 0, 3'600'000, pc.maxHoldDown);
  ms("degrade_rtt_ms", 0, 60'000, pc.degradeRtt);
  // A standard peer's path (no shim): 0 turns the IKE liveness check off (Up while keyed).
  ms("esp_silence_ms", 0, 60'000, pc.espSilence);
  ms("liveness_timeout_ms", 10, 60'000, pc.livenessTimeout);
  // ... and 0 here turns off the periodic check for a cut of our direction alone.
  ms("round_trip_check_ms", 0, 3'600'000, pc.roundTripCheck);
  if (auto v = c.integer(*t, p, "detect_multiplier", false, 1, 255))
    pc.detectMultiplier = uint32_t(*v);
  if (auto v = c.integer(*t, p, "loss_window", false, 10, 10'000)) pc.lossWindow = uint32_t(*v);
  if (auto v = c.integer(*t, p, "recover_probes", false, 1, 1000)) pc.recoverProbes = uint32_t(*v);
  if (auto v = c.integer(*t, p, "flap_window_s", false, 1, 86'400)) pc.flapWindow = seconds(*v);
  if (auto v = number(c, *t, p, "degrade_loss", 0.0, 1.0)) pc.degradeLoss = *v;
  if (pc.maxHoldDown < pc.holdDown) pc.maxHoldDown = pc.holdDown;
}

std::optional<policy::PortRange> portRange(Checker& c, const toml::node& n, const std::string& p) {
  const std::string what = "a port (0..65535) or a range string such as \"10000-20000\"";
  if (n.is_integer()) {
    int64_t v = n.as_integer()->get();
    if (v < 0 || v > 65535) {
      c.error(n, "'" + p + "' = " + std::to_string(v) + " is out of range; expected " + what);
      return std::nullopt;
    }
    return policy::PortRange{uint16_t(v), uint16_t(v)};
  }
  if (!n.is_string()) {
    c.error(n, "'" + p + "' is " + typeName(n.type()) + "; expected " + what);
    return std::nullopt;
  }
  const std::string s(n.as_string()->get());
  auto parse = [](std::string_view x, uint16_t& out) {
    unsigned v = 0;
    auto r = std::from_chars(x.data(), x.data() + x.size(), v);
    if (r.ec != std::errc() || r.ptr != x.data() + x.size() || v > 65535 || x.empty()) return false;
    out = uint16_t(v);
    return true;
  };
  policy::PortRange r;
  const size_t dash = s.find('-');
  bool ok = dash == std::string::npos
                ? parse(s, r.lo) && parse(s, r.hi)
                : parse(std::string_view(s).substr(0, dash), r.lo) &&
                      parse(std::string_view(s).substr(dash + 1), r.hi) && r.lo <= r.hi;
  if (!ok) {
    c.error(n,
            "'" + p + "' = \"" + s + "\" is not a port range; expected " + what + " (low <= high)");
    return std::nullopt;
  }
  return r;
}

std::vector<policy::PortRange> ports(Checker& c, const toml::table& t, const std::string& path,
                                     std::string_view key) {
  std::vector<policy::PortRange> out;
  const toml::node* n = t.get(key);
  if (n == nullptr) return out;
  const std::string p = joinPath(path, key);
  if (!n->is_array()) {
    if (auto r = portRange(c, *n, p)) out.push_back(*r);
    return out;
  }
  const toml::array& arr = *n->as_array();
  if (arr.empty()) c.error(*n, "'" + p + "' is empty; expected one or more ports or ranges");
  for (size_t i = 0; i < arr.size(); ++i) {
    if (auto r = portRange(c, *arr.get(i), p + "[" + std::to_string(i) + "]")) out.push_back(*r);
  }
  return out;
}

void classes(Checker& c, const toml::table& root, const std::vector<UplinkConfig>& uplinks,
             MultipathConfig& out) {
  const toml::array* arr = c.array(root, "", "class", false, "an array of [[class]] tables");
  if (arr == nullptr) return;
  for (size_t i = 0; i < arr->size(); ++i) {
    const toml::node& n = *arr->get(i);
    const std::string p = "class[" + std::to_string(i) + "]";
    if (!n.is_table()) {
      c.error(n, "'" + p + "' is " + typeName(n.type()) + "; expected a [[class]] table");
      continue;
    }
    const toml::table& t = *n.as_table();
    c.allowOnly(
        t, p,
        {"name", "priority", "mode", "prefer", "duplicate", "copies", "copy_on_suspect", "fec",
         "fec_loss", "metered", "bond_max_rtt_spread_ms", "bond_min_capacity_ratio", "sla"});
    ClassConfig cc;
    policy::ClassPolicy& cp = cc.policy;
    auto name = c.str(t, p, "name", true, "a unique class name");
    if (name) {
      cp.name = *name;
      for (const ClassConfig& o : out.classes) {
        if (o.policy.name == *name) {
          c.error(*t.get("name"), "'" + p + ".name' = \"" + *name +
                                      "\" is a duplicate; expected a unique class name");
        }
      }
    }
    if (auto v = choice(c, t, p, "priority", {"realtime", "business", "bulk"})) {
      cp.priority = static_cast<policy::Priority>(*v);
    }
    if (auto v = choice(c, t, p, "mode", {"steer", "balance", "bond", "pin"})) {
      cp.mode = static_cast<policy::Mode>(*v);
    }
    if (auto v = choice(c, t, p, "duplicate", {"never", "always", "on_breach", "when_none_meet"})) {
      cp.duplicate = static_cast<policy::DuplicateWhen>(*v);
    }
    if (auto v = c.integer(t, p, "copies", false, 2, 1 + int64_t(policy::Decision::kMaxCopies))) {
      cp.copies = uint8_t(*v);
    }
    // Real-time classes copy while their path is suspect unless told not to.
    cp.copyOnSuspect = cp.priority == policy::Priority::kRealtime;
    if (auto v = c.boolean(t, p, "copy_on_suspect")) cp.copyOnSuspect = *v;
    if (auto v = choice(c, t, p, "fec", {"never", "always", "auto"})) {
      cp.fec = static_cast<policy::FecWhen>(*v);
    }
    if (auto v = number(c, t, p, "fec_loss", 0.0, 1.0)) cp.fecLossThreshold = float(*v);
    if (auto v = choice(c, t, p, "metered", {"last_resort", "allowed", "never"})) {
      cp.metered = static_cast<policy::MeteredUse>(*v);
    }
    if (auto v = c.integer(t, p, "bond_max_rtt_spread_ms", false, 0, 10'000)) {
      cp.bondMaxRttSpreadUs = uint32_t(*v * 1000);
    }
    if (auto v = number(c, t, p, "bond_min_capacity_ratio", 0.0, 1.0)) {
      cp.bondMinCapacityRatio = float(*v);
    }
    for (const auto& s : c.stringList(t, p, "prefer", "an uplink name or an array of them")) {
      size_t u = 0;
      while (u < uplinks.size() && uplinks[u].name != s.text) ++u;
      if (u == uplinks.size()) {
        std::string known;
        for (const UplinkConfig& x : uplinks) known += (known.empty() ? "" : ", ") + x.name;
        c.error(*s.node, "'" + s.path + "' = \"" + s.text +
                             "\" is not an uplink; expected one of: " + known);
        continue;
      }
      cc.preferUplinks.push_back(u);
    }
    if (cp.mode == policy::Mode::kPin && cc.preferUplinks.empty()) {
      c.error(t.source(), "'" + p +
                              "' has mode \"pin\" without 'prefer'; expected the uplinks "
                              "the class is pinned to");
    }
    if (const toml::table* sla = c.table(t, p, "sla", false, "a table [class.sla]")) {
      const std::string sp = p + ".sla";
      c.allowOnly(*sla, sp, {"max_rtt_ms", "max_jitter_ms", "max_loss"});
      if (auto v = number(c, *sla, sp, "max_rtt_ms", 0, 60'000)) {
        cp.sla.maxRttUs = uint32_t(std::lround(*v * 1000));
      }
      if (auto v = number(c, *sla, sp, "max_jitter_ms", 0, 60'000)) {
        cp.sla.maxJitterUs = uint32_t(std::lround(*v * 1000));
      }
      if (auto v = number(c, *sla, sp, "max_loss", 0.0, 1.0)) cp.sla.maxLoss = float(*v);
    }
    out.classes.push_back(std::move(cc));
  }
}

std::optional<policy::ClassId> classByName(const MultipathConfig& m, std::string_view name) {
  for (size_t i = 0; i < m.classes.size(); ++i) {
    if (m.classes[i].policy.name == name) return policy::ClassId(i);
  }
  return std::nullopt;
}

void rules(Checker& c, const toml::table& root, MultipathConfig& out) {
  const toml::array* arr = c.array(root, "", "rule", false, "an array of [[rule]] tables");
  if (arr == nullptr) return;
  for (size_t i = 0; i < arr->size(); ++i) {
    const toml::node& n = *arr->get(i);
    const std::string p = "rule[" + std::to_string(i) + "]";
    if (!n.is_table()) {
      c.error(n, "'" + p + "' is " + typeName(n.type()) + "; expected a [[rule]] table");
      continue;
    }
    const toml::table& t = *n.as_table();
    c.allowOnly(t, p, {"class", "protocol", "src", "dst", "src_ports", "dst_ports", "dscp"});
    policy::Rule r;
    bool ok = true;
    if (auto s = c.str(t, p, "class", true, "the name of a [[class]]")) {
      if (auto id = classByName(out, *s)) {
        r.cls = *id;
      } else {
        std::string known;
        for (const ClassConfig& x : out.classes)
          known += (known.empty() ? "" : ", ") + x.policy.name;
        c.error(*t.get("class"),
                "'" + p + ".class' = \"" + *s + "\" is not a class; expected " +
                    (known.empty() ? "a [[class]] with that name" : "one of: " + known));
        ok = false;
      }
    } else {
      ok = false;
    }
    if (const toml::node* proto = t.get("protocol")) {
      const std::string what = "\"tcp\", \"udp\", \"icmp\", \"icmpv6\" or a protocol number 1..255";
      if (proto->is_integer() && proto->as_integer()->get() >= 1 &&
          proto->as_integer()->get() <= 255) {
        r.proto = uint8_t(proto->as_integer()->get());
      } else if (proto->is_string()) {
        const std::string s(proto->as_string()->get());
        if (s == "tcp")
          r.proto = kProtoTcp;
        else if (s == "udp")
          r.proto = kProtoUdp;
        else if (s == "icmp")
          r.proto = kProtoIcmp;
        else if (s == "icmpv6")
          r.proto = kProtoIcmpv6;
        else
          c.error(*proto, "'" + p + ".protocol' = \"" + s + "\" is unknown; expected " + what);
      } else {
        c.error(*proto, "'" + p + ".protocol' is not a protocol; expected " + what);
      }
    }
    for (auto& lp : c.prefixes(t, p, "src", false)) r.src.push_back(lp.prefix);
    for (auto& lp : c.prefixes(t, p, "dst", false)) r.dst.push_back(lp.prefix);
    r.srcPorts = ports(c, t, p, "src_ports");
    r.dstPorts = ports(c, t, p, "dst_ports");
    if ((!r.srcPorts.empty() || !r.dstPorts.empty()) && r.proto != kProtoTcp &&
        r.proto != kProtoUdp && r.proto != 132 /* SCTP */) {
      c.error(t.source(), "'" + p +
                              "' matches ports without protocol tcp or udp; expected "
                              "protocol = \"tcp\" or \"udp\" with src_ports/dst_ports");
    }
    if (const toml::array* d = c.array(t, p, "dscp", false, "an array of DSCP values 0..63")) {
      for (size_t k = 0; k < d->size(); ++k) {
        const toml::node& e = *d->get(k);
        if (!e.is_integer() || e.as_integer()->get() < 0 || e.as_integer()->get() > 63) {
          c.error(e, "'" + p + ".dscp[" + std::to_string(k) +
                         "]' is not a DSCP value; expected "
                         "an integer 0..63 (46 = EF)");
          continue;
        }
        r.dscp |= uint64_t{1} << e.as_integer()->get();
      }
    }
    if (r.src.empty() && r.dst.empty() && r.proto == 0 && r.srcPorts.empty() &&
        r.dstPorts.empty() && r.dscp == 0) {
      c.error(t.source(), "'" + p +
                              "' has no match field; expected at least one of protocol, "
                              "src, dst, src_ports, dst_ports, dscp");
      ok = false;
    }
    if (ok) out.rules.push_back(std::move(r));
  }
}

void policyTable(Checker& c, const toml::table& root, MultipathConfig& out) {
  policy::EngineConfig& e = out.engine;
  const toml::table* t = c.table(root, "", "policy", false, "a table [policy]");
  std::optional<std::string> def;
  if (t != nullptr) {
    const std::string p = "policy";
    c.allowOnly(*t, p,
                {"default_class", "max_flows", "flow_idle_s", "switch_ratio", "switch_min_ms",
                 "sla_enter_factor"});
    def = c.str(*t, p, "default_class", false, "the name of a [[class]]");
    if (auto v = c.integer(*t, p, "max_flows", false, 16, 16'000'000)) e.maxFlows = size_t(*v);
    if (auto v = c.integer(*t, p, "flow_idle_s", false, 1, 86'400)) e.flowIdle = seconds(*v);
    if (auto v = number(c, *t, p, "switch_ratio", 0.0, 10.0)) e.switchRatio = float(*v);
    if (auto v = number(c, *t, p, "switch_min_ms", 0, 10'000)) {
      e.switchMinUs = uint32_t(std::lround(*v * 1000));
    }
    if (auto v = number(c, *t, p, "sla_enter_factor", 0.1, 1.0)) e.slaEnterFactor = float(*v);
  }
  if (out.classes.empty()) {
    if (def) {
      c.error(*t->get("default_class"), "'policy.default_class' = \"" + *def +
                                            "\" names no class; expected a [[class]] with that "
                                            "name");
    }
    // The implicit class: the paths in config order, as before multipath.
    ClassConfig cc;
    cc.policy.name = "default";
    cc.policy.metered = policy::MeteredUse::kAllowed;
    cc.pathOrder = true;
    out.classes.push_back(std::move(cc));
    e.defaultClass = 0;
    return;
  }
  const std::string want = def.value_or("default");
  if (auto id = classByName(out, want)) {
    e.defaultClass = *id;
  } else if (def) {
    c.error(*t->get("default_class"), "'policy.default_class' = \"" + *def +
                                          "\" names no class; expected a [[class]] with that name");
  } else {
    c.error(root.source(),
            "no class is the default; expected a [[class]] named \"default\" or "
            "[policy] default_class");
  }
}

}  // namespace

void parseMultipath(Checker& c, const toml::table& root, const std::vector<UplinkConfig>& uplinks,
                    MultipathConfig& out) {
  pathmonTable(c, root, out.pathmon);
  classes(c, root, uplinks, out);
  rules(c, root, out);
  policyTable(c, root, out);
}

}  // namespace braid::edge::detail
