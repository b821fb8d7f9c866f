#include "edge/control_commands.hpp"

#include <algorithm>
#include <boost/json/src.hpp>  // header-only Boost.JSON, compiled once here
#include <cctype>
#include <cstdio>
#include <set>

#include "edge/steering.hpp"
#include "metrics/metric.hpp"

namespace braid::edge {
namespace json = boost::json;

const char* controlVerbName(ControlVerb v) {
  switch (v) {
    case ControlVerb::kStatus:
      return "status";
    case ControlVerb::kSas:
      return "sas";
    case ControlVerb::kFlows:
      return "flows";
    case ControlVerb::kPathDown:
      return "path down";
    case ControlVerb::kPathUp:
      return "path up";
    case ControlVerb::kReload:
      return "reload";
    case ControlVerb::kMetrics:
      return "metrics";
    case ControlVerb::kCount:
      break;
  }
  return "?";
}

namespace {

constexpr size_t kMaxWords = 4;

// At most 64 bytes of untrusted text, non-printable bytes as '?'.
std::string quoteBack(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 64)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (s.size() > 64) out += "...";
  return out;
}

Status bad(std::string message) {
  return errorStatus(ErrorCode::kInvalidArgument, std::move(message));
}

constexpr const char* kExpected =
    "expected status, sas, flows, metrics, reload, path down NAME or path up NAME";

}  // namespace

Result<ControlRequest> parseControlRequest(std::string_view line) {
  if (line.size() > kMaxControlRequest) {
    return bad("request longer than " + std::to_string(kMaxControlRequest) + " bytes");
  }
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < line.size()) {
    const char c = line[i];
    if (c == ' ' || c == '\t') {
      ++i;
      continue;
    }
    if (c < 0x21 || c > 0x7e) return bad("request holds a byte that is not printable ASCII");
    size_t j = i;
    while (j < line.size() && line[j] > 0x20 && line[j] < 0x7f) ++j;
    if (words.size() == kMaxWords) return bad("too many words; " + std::string(kExpected));
    words.push_back(line.substr(i, j - i));
    i = j;
  }
  if (words.empty()) return bad(std::string("empty request; ") + kExpected);
  ControlRequest r;
  auto simple = [&](ControlVerb v) -> Result<ControlRequest> {
    if (words.size() != 1) return bad("'" + std::string(words[0]) + "' takes no argument");
    r.verb = v;
    return r;
  };
  const std::string_view w = words[0];
  if (w == "status") return simple(ControlVerb::kStatus);
  if (w == "sas") return simple(ControlVerb::kSas);
  if (w == "flows") return simple(ControlVerb::kFlows);
  if (w == "reload") return simple(ControlVerb::kReload);
  if (w == "metrics") return simple(ControlVerb::kMetrics);
  if (w == "path") {
    if (words.size() != 3 || (words[1] != "down" && words[1] != "up")) {
      return bad("expected 'path down NAME' or 'path up NAME'");
    }
    r.verb = words[1] == "down" ? ControlVerb::kPathDown : ControlVerb::kPathUp;
    r.arg = std::string(words[2]);
    return r;
  }
  return bad("unknown command '" + quoteBack(w) + "'; " + kExpected);
}

std::string controlError(std::string_view message) {
  json::object o;
  o["ok"] = false;
  o["error"] = message;
  return json::serialize(o);
}

std::string controlDone(std::string_view command, std::string_view message) {
  json::object o;
  o["ok"] = true;
  o["command"] = command;
  o["message"] = message;
  return json::serialize(o);
}

namespace {

json::array strings(const std::vector<std::string>& v) {
  json::array out;
  for (const std::string& x : v) out.push_back(json::string(x));
  return out;
}

json::array ikeSasJson(const std::vector<ControlIkeSa>& list) {
  json::array out;
  for (const ControlIkeSa& sa : list) {
    json::array children;
    for (const ControlChildSa& c : sa.children) {
      children.push_back(json::object{{"name", c.name},
                                      {"state", c.state},
                                      {"spi_in", c.spiIn},
                                      {"spi_out", c.spiOut},
                                      {"proposal", c.proposal},
                                      {"installed_seconds_ago", c.installedAgo},
                                      {"rekey_in_seconds", c.rekeyIn},
                                      {"expire_in_seconds", c.expireIn},
                                      {"bytes_in", c.bytesIn},
                                      {"packets_in", c.packetsIn},
                                      {"bytes_out", c.bytesOut},
                                      {"packets_out", c.packetsOut},
                                      {"local_ts", strings(c.localTs)},
                                      {"remote_ts", strings(c.remoteTs)}});
    }
    out.push_back(json::object{{"state", sa.state},
                               {"initiator", sa.initiator},
                               {"spi_i", sa.spiI},
                               {"spi_r", sa.spiR},
                               {"proposal", sa.proposal},
                               {"local", sa.local},
                               {"remote", sa.remote},
                               {"local_id", sa.localId},
                               {"remote_id", sa.remoteId},
                               {"established_seconds_ago", sa.establishedAgo},
                               {"rekey_in_seconds", sa.rekeyIn},
                               {"expire_in_seconds", sa.expireIn},
                               {"nat_local", sa.natLocal},
                               {"nat_remote", sa.natRemote},
                               {"child_sas", std::move(children)}});
  }
  return out;
}

}  // namespace

std::string controlStatusResponse(std::string_view command, const ControlStatus& s) {
  json::object data;
  data["version"] = s.version;
  data["uptime_seconds"] = s.uptimeSeconds;
  data["flows"] = s.flows;
  json::array uplinks;
  for (const ControlUplink& u : s.uplinks) {
    uplinks.push_back(json::object{{"name", u.name}, {"local", u.local}, {"metered", u.metered}});
  }
  data["uplinks"] = std::move(uplinks);
  json::array paths;
  for (const ControlPath& p : s.paths) {
    json::object o{{"name", p.name},
                   {"peer", p.peer},
                   {"uplink", p.uplink},
                   {"state", p.state},
                   {"admin_down", p.adminDown},
                   {"keying", p.keying},
                   {"local", p.local},
                   {"remote", p.remote},
                   {"rtt_ms", p.rttMs},
                   {"jitter_ms", p.jitterMs},
                   {"loss", p.loss}};
    json::array classes;
    for (const std::string& c : p.classes) classes.push_back(json::string(c));
    o["classes"] = std::move(classes);
    json::array sas;
    for (const ControlSa& sa : p.sas) {
      sas.push_back(json::object{{"spi", sa.spi},
                                 {"direction", sa.inbound ? "in" : "out"},
                                 {"packets", sa.packets},
                                 {"bytes", sa.bytes},
                                 {"drops", sa.drops}});
    }
    o["sas"] = std::move(sas);
    if (!p.ikeSas.empty()) o["ike_sas"] = ikeSasJson(p.ikeSas);
    paths.push_back(std::move(o));
  }
  data["paths"] = std::move(paths);
  json::object o;
  o["ok"] = true;
  o["command"] = command;
  o["data"] = std::move(data);
  return json::serialize(o);
}

std::string controlFlowsResponse(const ControlFlows& f) {
  json::array top;
  for (const ControlFlow& x : f.top) {
    top.push_back(json::object{{"flow", x.flow},
                               {"peer", x.peer},
                               {"class", x.cls},
                               {"path", x.path},
                               {"packets", x.packets},
                               {"idle_seconds", x.idleSeconds}});
  }
  json::object o;
  o["ok"] = true;
  o["command"] = "flows";
  o["data"] = json::object{{"total", f.total}, {"top", std::move(top)}};
  return json::serialize(o);
}

namespace {

// "udp 10.1.0.1:5004 > 10.2.0.1:5004": short enough for braidctl's 80 columns.
std::string flowText(const FlowKey& k) {
  const char* name = k.proto == 6    ? "tcp"
                     : k.proto == 17 ? "udp"
                     : k.proto == 1  ? "icmp"
                     : k.proto == 58 ? "icmp6"
                                     : nullptr;
  std::string out = name != nullptr ? name : "proto " + std::to_string(k.proto);
  const bool ports = k.proto == 6 || k.proto == 17 || k.proto == 132;
  auto endpoint = [&](const IpAddress& a, uint16_t port) {
    std::string e = a.isV6() && ports ? "[" + a.toString() + "]" : a.toString();
    return ports ? e + ":" + std::to_string(port) : e;
  };
  return out + " " + endpoint(k.src, k.srcPort) + " > " + endpoint(k.dst, k.dstPort);
}

}  // namespace

PolicyView inspectPolicy(const Steering& steering, const std::vector<PathSpec>& paths,
                         const std::vector<std::string>& peers, size_t maxFlows, TimePoint now) {
  PolicyView v;
  std::vector<std::set<std::string>> classes(paths.size());
  struct Top {
    uint64_t packets;
    const policy::FlowEntry* e;
    size_t peer;
  };
  std::vector<Top> top;  // a min-heap of the maxFlows largest
  auto smaller = [](const Top& a, const Top& b) { return a.packets > b.packets; };
  for (size_t pi = 0; pi < steering.peerCount(); ++pi) {
    const policy::Engine& e = steering.engine(pi);
    for (size_t c = 0; c < e.classCount(); ++c) {
      const policy::PathId best = e.classBest(policy::ClassId(c));
      if (best < paths.size()) classes[best].insert(e.classPolicy(policy::ClassId(c)).name);
    }
    e.flows().forEach([&](const policy::FlowEntry& f) {
      ++v.flows.total;
      if (f.path < paths.size() && f.cls < e.classCount()) {
        classes[f.path].insert(e.classPolicy(f.cls).name);
      }
      if (maxFlows == 0) return;
      if (top.size() < maxFlows) {
        top.push_back({f.packets, &f, pi});
        std::push_heap(top.begin(), top.end(), smaller);
      } else if (f.packets > top.front().packets) {
        std::pop_heap(top.begin(), top.end(), smaller);
        top.back() = {f.packets, &f, pi};
        std::push_heap(top.begin(), top.end(), smaller);
      }
    });
  }
  std::sort_heap(top.begin(), top.end(), smaller);  // most packets first
  for (const Top& t : top) {
    const policy::Engine& e = steering.engine(t.peer);
    ControlFlow f;
    f.flow = flowText(t.e->key);
    f.peer = t.peer < peers.size() ? peers[t.peer] : "";
    f.cls = t.e->cls < e.classCount() ? e.classPolicy(t.e->cls).name : "";
    f.path = t.e->path < paths.size() ? paths[t.e->path].name : "-";
    f.packets = t.packets;
    f.idleSeconds = std::max(0.0, std::chrono::duration<double>(now - t.e->lastSeen).count());
    v.flows.top.push_back(std::move(f));
  }
  for (size_t i = 0; i < paths.size(); ++i) {
    v.classesByPath.emplace_back(classes[i].begin(), classes[i].end());
  }
  return v;
}

// ---- braidctl's views ----------------------------------------------------------------

namespace {

std::string str(const json::value* v) {
  if (v == nullptr) return "";
  if (v->is_string()) return std::string(v->get_string());
  return json::serialize(*v);
}
double num(const json::value* v) {
  if (v == nullptr) return 0;
  if (v->is_double()) return v->get_double();
  if (v->is_int64()) return double(v->get_int64());
  if (v->is_uint64()) return double(v->get_uint64());
  return 0;
}
uint64_t unum(const json::value* v) {
  if (v == nullptr) return 0;
  if (v->is_uint64()) return v->get_uint64();
  if (v->is_int64()) return v->get_int64() < 0 ? 0 : uint64_t(v->get_int64());
  if (v->is_double()) return v->get_double() < 0 ? 0 : uint64_t(v->get_double());
  return 0;
}
bool flag(const json::value* v) {
  return v != nullptr && v->is_bool() && v->get_bool();
}
const json::array& arr(const json::object& o, std::string_view key) {
  static const json::array kEmpty;
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_array() ? v->get_array() : kEmpty;
}

// `s` cut to `width` columns ("..." marks the cut).
std::string fit(std::string s, size_t width) {
  if (s.size() <= width) return s;
  if (width <= 3) return s.substr(0, width);
  return s.substr(0, width - 3) + "...";
}

std::string sprint(const char* fmt, auto... args) {
  char buf[256];
  std::snprintf(buf, sizeof buf, fmt, args...);
  return buf;
}

std::string count(uint64_t n) {
  if (n < 10'000) return std::to_string(n);
  if (n < 10'000'000) return sprint("%.1fk", double(n) / 1e3);
  if (n < 10'000'000'000ull) return sprint("%.1fM", double(n) / 1e6);
  return sprint("%.1fG", double(n) / 1e9);
}
std::string bytes(uint64_t n) {
  if (n < 10'000) return std::to_string(n) + " B";
  if (n < 10'000'000) return sprint("%.1f kB", double(n) / 1e3);
  if (n < 10'000'000'000ull) return sprint("%.1f MB", double(n) / 1e6);
  return sprint("%.1f GB", double(n) / 1e9);
}
std::string duration(double s) {
  const uint64_t t = s < 0 ? 0 : uint64_t(s);
  if (t < 60) return std::to_string(t) + "s";
  if (t < 3600) return sprint("%um%02us", unsigned(t / 60), unsigned(t % 60));
  if (t < 86400) return sprint("%uh%02um", unsigned(t / 3600), unsigned(t / 60 % 60));
  return sprint("%ud%02uh", unsigned(t / 86400), unsigned(t / 3600 % 24));
}

std::string pathState(const json::object& p) {
  return flag(p.if_contains("admin_down")) ? "admin-down" : str(p.if_contains("state"));
}
bool measured(const json::object& p) {
  const std::string s = str(p.if_contains("state"));
  return s == "up" || s == "degraded" || s == "probing";
}

// status: uplink -> path -> SAs. Columns: path 20, state 10, keying 11, RTT, jitter, loss
// (ms, ms, %), then the classes, wrapped under their column.
std::string formatStatus(const json::object& d) {
  std::string out;
  out += fit("braidd " + str(d.if_contains("version")) + ", up " +
                 duration(num(d.if_contains("uptime_seconds"))) + ", " +
                 std::to_string(arr(d, "paths").size()) + " path(s), " +
                 std::to_string(unum(d.if_contains("flows"))) + " flow(s)",
             kControlColumns) +
         "\n";
  const char* head = "  %-20s %-10s %-11s %7s %6s %6s %s";
  out += sprint(head, "PATH", "STATE", "KEYING", "RTT ms", "JIT ms", "LOSS%", "CLASSES") + "\n";
  constexpr size_t kClassCol = 2 + 20 + 1 + 10 + 1 + 11 + 1 + 7 + 1 + 6 + 1 + 6 + 1;
  for (const json::value& uv : arr(d, "uplinks")) {
    if (!uv.is_object()) continue;
    const json::object& u = uv.get_object();
    const std::string uname = str(u.if_contains("name"));
    std::string line = "uplink " + uname + " (" + str(u.if_contains("local")) + ")";
    if (flag(u.if_contains("metered"))) line += ", metered";
    out += fit(line, kControlColumns) + "\n";
    for (const json::value& pv : arr(d, "paths")) {
      if (!pv.is_object()) continue;
      const json::object& p = pv.get_object();
      if (str(p.if_contains("uplink")) != uname) continue;
      std::string rtt = "-", jit = "-", loss = "-";
      if (measured(p)) {
        rtt = sprint("%.1f", num(p.if_contains("rtt_ms")));
        jit = sprint("%.1f", num(p.if_contains("jitter_ms")));
        loss = sprint("%.1f", num(p.if_contains("loss")) * 100);
      }
      // Classes: in their column when they fit, else on lines of their own below.
      std::string joined;
      for (const json::value& c : arr(p, "classes"))
        joined += (joined.empty() ? "" : ",") + str(&c);
      const bool inColumn = kClassCol + joined.size() <= kControlColumns;
      out += sprint(head, fit(str(p.if_contains("name")), 20).c_str(),
                    fit(pathState(p), 10).c_str(), fit(str(p.if_contains("keying")), 11).c_str(),
                    rtt.c_str(), jit.c_str(), loss.c_str(), inColumn ? joined.c_str() : "");
      while (!out.empty() && out.back() == ' ') out.pop_back();
      out += "\n";
      if (!inColumn) {
        std::string row = "    classes:";
        for (const json::value& c : arr(p, "classes")) {
          const std::string name = fit(str(&c), kControlColumns - 14);
          if (row.size() + 1 + name.size() + 1 > kControlColumns) {
            out += row + "\n";
            row = "            ";
          }
          row += " " + name + ",";
        }
        row.pop_back();
        out += row + "\n";
      }
      for (const json::value& sv : arr(p, "sas")) {
        if (!sv.is_object()) continue;
        const json::object& s = sv.get_object();
        out += sprint("    SA %-3s %08llx %10s pkts %11s %8s drops\n",
                      str(s.if_contains("direction")).c_str(),
                      (unsigned long long)unum(s.if_contains("spi")),
                      count(unum(s.if_contains("packets"))).c_str(),
                      bytes(unum(s.if_contains("bytes"))).c_str(),
                      count(unum(s.if_contains("drops"))).c_str());
      }
    }
  }
  return out;
}

std::string upper(std::string s) {
  for (char& c : s) c = char(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// "established 12s ago, rekeying in 3h59m, expires in 4h19m"
std::string times(const char* what, const json::object& o, const char* ago, const char* rekey,
                  const char* expire) {
  std::string out = std::string(what) + " " + duration(num(o.if_contains(ago))) + " ago";
  if (const double r = num(o.if_contains(rekey)); r >= 0) out += ", rekeying in " + duration(r);
  if (const double e = num(o.if_contains(expire)); e >= 0) out += ", expires in " + duration(e);
  return out;
}

// One IKE SA of a path with its Child SAs, as swanctl --list-sas shows them (our SPI *).
std::string formatIkeSa(const json::object& p, const json::object& sa) {
  std::string out;
  const bool initiator = flag(sa.if_contains("initiator"));
  out += fit(str(p.if_contains("name")) + ": " + upper(str(sa.if_contains("state"))) +
                 ", IKEv2, path " + pathState(p),
             kControlColumns) +
         "\n";
  out += sprint("  SPIs %016llx_i%s %016llx_r%s\n",
                (unsigned long long)unum(sa.if_contains("spi_i")), initiator ? "*" : "",
                (unsigned long long)unum(sa.if_contains("spi_r")), initiator ? "" : "*");
  out +=
      fit("  local  '" + str(sa.if_contains("local_id")) + "' @ " + str(sa.if_contains("local")) +
              (flag(sa.if_contains("nat_local")) ? " (behind NAT)" : ""),
          kControlColumns) +
      "\n";
  out +=
      fit("  remote '" + str(sa.if_contains("remote_id")) + "' @ " + str(sa.if_contains("remote")) +
              (flag(sa.if_contains("nat_remote")) ? " (behind NAT)" : ""),
          kControlColumns) +
      "\n";
  out += fit("  " + str(sa.if_contains("proposal")), kControlColumns) + "\n";
  out += fit("  " + times("established", sa, "established_seconds_ago", "rekey_in_seconds",
                          "expire_in_seconds"),
             kControlColumns) +
         "\n";
  for (const json::value& cv : arr(sa, "child_sas")) {
    if (!cv.is_object()) continue;
    const json::object& c = cv.get_object();
    out += fit("  " + str(c.if_contains("name")) + ": " + upper(str(c.if_contains("state"))) +
                   ", ESP in UDP, " + str(c.if_contains("proposal")),
               kControlColumns) +
           "\n";
    out += fit("    " + times("installed", c, "installed_seconds_ago", "rekey_in_seconds",
                              "expire_in_seconds"),
               kControlColumns) +
           "\n";
    out += sprint("    in  %08llx, %s, %s packets\n",
                  (unsigned long long)unum(c.if_contains("spi_in")),
                  bytes(unum(c.if_contains("bytes_in"))).c_str(),
                  count(unum(c.if_contains("packets_in"))).c_str());
    out += sprint("    out %08llx, %s, %s packets\n",
                  (unsigned long long)unum(c.if_contains("spi_out")),
                  bytes(unum(c.if_contains("bytes_out"))).c_str(),
                  count(unum(c.if_contains("packets_out"))).c_str());
    for (const char* side : {"local", "remote"}) {
      std::string row = std::string("    ") + (side[0] == 'l' ? "local " : "remote");
      const size_t indent = row.size();
      for (const json::value& t : arr(c, std::string(side) + "_ts")) {
        const std::string ts = fit(str(&t), kControlColumns - indent - 1);
        if (row.size() + 1 + ts.size() > kControlColumns) {
          out += row + "\n";
          row = std::string(indent, ' ');
        }
        row += " " + ts;
      }
      out += row + "\n";
    }
  }
  return out;
}

// sas: in the manner of swanctl --list-sas, one block per path.
std::string formatSas(const json::object& d) {
  std::string out;
  for (const json::value& pv : arr(d, "paths")) {
    if (!pv.is_object()) continue;
    const json::object& p = pv.get_object();
    const json::array& ikeSas = arr(p, "ike_sas");
    if (!ikeSas.empty()) {
      for (const json::value& sv : ikeSas) {
        if (sv.is_object()) out += formatIkeSa(p, sv.get_object());
      }
      continue;
    }
    std::string keying = str(p.if_contains("keying"));
    std::string state = keying;
    for (char& c : state) c = char(std::toupper(static_cast<unsigned char>(c)));
    out += fit(str(p.if_contains("name")) + ": " + state +
                   (keying == "manual" ? ", manual keys" : ", IKEv2") + ", path " + pathState(p),
               kControlColumns) +
           "\n";
    out += fit("  local  " + str(p.if_contains("local")), kControlColumns) + "\n";
    out += fit("  remote " + str(p.if_contains("remote")), kControlColumns) + "\n";
    const json::array& sas = arr(p, "sas");
    if (sas.empty()) {
      out += "  no ESP SA installed\n";
      continue;
    }
    std::string spis;
    for (const json::value& sv : sas) {
      if (!sv.is_object()) continue;
      const json::object& s = sv.get_object();
      spis += sprint(" %08llx_%s", (unsigned long long)unum(s.if_contains("spi")),
                     str(s.if_contains("direction")) == "in" ? "i" : "o");
    }
    out += fit("  " + str(p.if_contains("peer")) + ": INSTALLED, ESP in UDP, SPIs:" + spis,
               kControlColumns) +
           "\n";
    for (const json::value& sv : sas) {
      if (!sv.is_object()) continue;
      const json::object& s = sv.get_object();
      const bool in = str(s.if_contains("direction")) == "in";
      out += sprint("    %-3s %08llx, %s, %s packets, %s dropped\n", in ? "in" : "out",
                    (unsigned long long)unum(s.if_contains("spi")),
                    bytes(unum(s.if_contains("bytes"))).c_str(),
                    count(unum(s.if_contains("packets"))).c_str(),
                    count(unum(s.if_contains("drops"))).c_str());
    }
  }
  if (out.empty()) out = "no paths\n";
  return out;
}

std::string formatFlows(const json::object& d) {
  std::string out = sprint("%llu flow(s)", (unsigned long long)unum(d.if_contains("total")));
  const json::array& top = arr(d, "top");
  if (!top.empty()) out += sprint(", the %zu with most packets", top.size());
  out += "\n";
  if (top.empty()) return out;
  const char* row = "%-38s %-10s %-16s %7s %4s\n";
  out += sprint(row, "FLOW", "CLASS", "PATH", "PKTS", "IDLE");
  for (const json::value& fv : top) {
    if (!fv.is_object()) continue;
    const json::object& f = fv.get_object();
    out += sprint(row, fit(str(f.if_contains("flow")), 38).c_str(),
                  fit(str(f.if_contains("class")), 10).c_str(),
                  fit(str(f.if_contains("path")), 16).c_str(),
                  count(unum(f.if_contains("packets"))).c_str(),
                  fit(duration(num(f.if_contains("idle_seconds"))), 4).c_str());
  }
  return out;
}

}  // namespace

std::string controlMetricsResponse(std::string_view registryJson) {
  // The registry's JSON is one object already: spliced in, not parsed again, without its
  // final newline (a response is one line).
  while (!registryJson.empty() && (registryJson.back() == '\n' || registryJson.back() == ' ')) {
    registryJson.remove_suffix(1);
  }
  std::string out = R"({"ok":true,"command":"metrics","data":)";
  out += registryJson;
  out += '}';
  return out;
}

namespace {

// One line per series, as in the Prometheus text format: name{labels} value; a histogram
// as its _count and _sum (the buckets are in --json).
std::string formatMetrics(const json::object& d) {
  std::string out;
  const json::value* fams = d.if_contains("metrics");
  if (fams == nullptr || !fams->is_array()) return out;
  auto number = [](const json::value* v) -> std::string {
    if (v == nullptr) return "?";
    if (v->is_string()) return str(v);  // NaN, +Inf, -Inf
    if (v->is_double()) return metrics::formatDouble(v->as_double());
    return json::serialize(*v);
  };
  for (const json::value& f : fams->get_array()) {
    if (!f.is_object()) continue;
    const json::object& fo = f.get_object();
    const std::string name = str(fo.if_contains("name"));
    const bool histogram = str(fo.if_contains("type")) == "histogram";
    const json::value* series = fo.if_contains("series");
    if (series == nullptr || !series->is_array()) continue;
    for (const json::value& s : series->get_array()) {
      if (!s.is_object()) continue;
      const json::object& so = s.get_object();
      std::string labels;
      if (const json::value* l = so.if_contains("labels"); l != nullptr && l->is_object()) {
        for (const auto& kv : l->get_object()) {
          labels += (labels.empty() ? "{" : ",") + std::string(kv.key()) + "=\"" +
                    metrics::escapeLabelValue(str(&kv.value())) + "\"";
        }
        if (!labels.empty()) labels += "}";
      }
      if (histogram) {
        out += name + "_count" + labels + " " + number(so.if_contains("count")) + "\n";
        out += name + "_sum" + labels + " " + number(so.if_contains("sum")) + "\n";
      } else {
        out += name + labels + " " + number(so.if_contains("value")) + "\n";
      }
    }
  }
  return out;
}

}  // namespace

Result<std::string> formatControlResponse(std::string_view response) {
  json::error_code ec;
  json::value v = json::parse(response, ec);
  if (ec || !v.is_object()) return bad("braidd sent something that is not a JSON object");
  const json::object& o = v.get_object();
  if (!flag(o.if_contains("ok"))) {
    const json::value* e = o.if_contains("error");
    return errorStatus(ErrorCode::kInvalidArgument,
                       e != nullptr && e->is_string() ? str(e) : "braidd refused the request");
  }
  const std::string command = str(o.if_contains("command"));
  if (const json::value* m = o.if_contains("message"); m != nullptr && m->is_string()) {
    return str(m) + "\n";
  }
  const json::value* d = o.if_contains("data");
  if (d == nullptr || !d->is_object()) return bad("braidd's response has no data");
  if (command == "status") return formatStatus(d->get_object());
  if (command == "sas") return formatSas(d->get_object());
  if (command == "flows") return formatFlows(d->get_object());
  if (command == "metrics") return formatMetrics(d->get_object());
  return bad("braidd answered an unknown command '" + quoteBack(command) + "'");
}

}  // namespace braid::edge
