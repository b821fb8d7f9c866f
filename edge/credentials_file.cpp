#include "edge/credentials_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>

#include "edge/secret_file.hpp"

namespace braid::edge {
namespace {

struct Field {
  std::string_view text;
  size_t column;  // 1-based
};

std::vector<Field> splitFields(std::string_view line) {
  std::vector<Field> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i >= line.size()) break;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    out.push_back({line.substr(start, i - start), start + 1});
  }
  return out;
}

std::string at(const std::string& path, size_t line, size_t col) {
  return path + ":" + std::to_string(line) + ":" + std::to_string(col) + ": ";
}

}  // namespace

bool validCredentialName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (c <= ' ' || c == '#' || static_cast<unsigned char>(c) >= 0x7F) return false;
  }
  return true;
}

CredentialsFile parseCredentials(std::string_view text, const std::string& path) {
  CredentialsFile out;
  out.users = std::make_shared<ike::EapUserTable>();
  std::map<std::string, size_t, std::less<>> seen;
  size_t lineNo = 0;
  while (!text.empty()) {
    ++lineNo;
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    auto f = splitFields(line);
    if (f.empty() || f[0].text[0] == '#') continue;
    if (f.size() != 3) {
      out.errors.push_back(at(path, lineNo, f[0].column) + std::to_string(f.size()) +
                           " fields; expected 'name group nthash' (group '-' for none)");
      continue;
    }
    if (!validCredentialName(f[0].text)) {
      out.errors.push_back(at(path, lineNo, f[0].column) + "user name '" + std::string(f[0].text) +
                           "' is invalid; expected 1-64 printable characters");
      continue;
    }
    if (!validCredentialName(f[1].text)) {
      out.errors.push_back(at(path, lineNo, f[1].column) + "group '" + std::string(f[1].text) +
                           "' is invalid; expected 1-64 printable characters or '-'");
      continue;
    }
    auto hash = ike::mschapv2::parseNtHashHex(f[2].text);
    if (!hash) {
      // Never echo it: it may be a password someone typed in.
      out.errors.push_back(at(path, lineNo, f[2].column) +
                           "the NT hash is not 32 hex digits; expected the hash that "
                           "'braidctl user add' writes, not a password");
      continue;
    }
    std::string name(f[0].text);
    if (auto it = seen.find(name); it != seen.end()) {
      out.errors.push_back(at(path, lineNo, f[0].column) + "user '" + name +
                           "' is a duplicate of line " + std::to_string(it->second));
      continue;
    }
    seen.emplace(name, lineNo);
    std::string group = f[1].text == "-" ? std::string() : std::string(f[1].text);
    (void)out.users->add({name, group, *hash});
  }
  return out;
}

CredentialsFile loadCredentials(const std::string& path) {
  auto data = readSecretFile(path, SecretFileCheck::kNone);
  if (!data) {
    CredentialsFile out;
    out.errors.push_back(path + ": cannot read the credentials file: " + data.status().message());
    return out;
  }
  auto bytes = data->bytes();
  CredentialsFile out = parseCredentials(
      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), path);
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & S_IROTH) != 0) {
    out.warnings.push_back(path +
                           ": the credentials file is world-readable; NT hashes stand for the "
                           "passwords (chmod 600)");
  }
  return out;
}

Status addCredentialsUser(const std::string& path, const std::string& name,
                          const std::string& group, const ike::NtHash& hash) {
  if (!validCredentialName(name))
    return errorStatus(ErrorCode::kInvalidArgument, "invalid user name '" + name + "'");
  if (!group.empty() && !validCredentialName(group))
    return errorStatus(ErrorCode::kInvalidArgument, "invalid group '" + group + "'");
  std::string text;
  if (::access(path.c_str(), F_OK) == 0) {
    auto data = readSecretFile(path, SecretFileCheck::kNone);
    if (!data) return data.status();
    text.assign(reinterpret_cast<const char*>(data->data()), data->size());
    CredentialsFile parsed = parseCredentials(text, path);
    if (!parsed.errors.empty()) return errorStatus(ErrorCode::kParseError, parsed.errors[0]);
  }
  const std::string entry =
      name + " " + (group.empty() ? "-" : group) + " " + ike::mschapv2::toHex(hash, false);
  std::string out;
  bool replaced = false;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    auto f = splitFields(line);
    if (!f.empty() && f[0].text == name) {
      out += entry + "\n";
      replaced = true;
    } else {
      out += line + "\n";
    }
  }
  if (!replaced) out += entry + "\n";
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return errorStatus(ErrorCode::kIoError, tmp + ": " + std::strerror(errno));
  (void)::fchmod(fd, 0600);  // O_CREAT's mode does not apply to an existing temp file
  bool ok =
      ::write(fd, out.data(), out.size()) == static_cast<ssize_t>(out.size()) && ::fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    (void)::unlink(tmp.c_str());
    return errorStatus(ErrorCode::kIoError, path + ": " + std::strerror(errno));
  }
  return Status::ok();
}

namespace {

// One line from stdin; without echo when it is a terminal.
bool readPassword(const char* prompt, std::string& out) {
  const bool tty = ::isatty(STDIN_FILENO) != 0;
  termios old{};
  if (tty) {
    std::cerr << prompt << std::flush;
    if (::tcgetattr(STDIN_FILENO, &old) != 0) return false;
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    (void)::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  bool ok = static_cast<bool>(std::getline(std::cin, out));
  if (tty) {
    (void)::tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    std::cerr << "\n";
  }
  if (!out.empty() && out.back() == '\r') out.pop_back();
  return ok;
}

}  // namespace

int braidctlUserCommand(const std::vector<std::string>& args) {
  // args: "user" "add" FILE NAME [--group G]
  std::string group;
  std::vector<std::string> pos;
  for (size_t i = 2; i < args.size(); ++i) {
    if (args[i] == "--group" && i + 1 < args.size()) {
      group = args[++i];
    } else {
      pos.push_back(args[i]);
    }
  }
  if (args.size() < 2 || args[1] != "add" || pos.size() != 2) {
    std::cerr << "braidctl: expected 'user add FILE NAME [--group GROUP]'\n";
    return 2;
  }
  std::string pw, again;
  if (!readPassword("password: ", pw)) {
    std::cerr << "braidctl: no password on stdin\n";
    return 2;
  }
  if (::isatty(STDIN_FILENO) != 0) {
    if (!readPassword("again: ", again) || again != pw) {
      std::cerr << "braidctl: the passwords differ\n";
      return 2;
    }
  }
  if (pw.empty()) {
    std::cerr << "braidctl: empty password\n";
    return 2;
  }
  auto hash = ike::mschapv2::ntPasswordHash(pw);
  std::fill(pw.begin(), pw.end(), '\0');
  std::fill(again.begin(), again.end(), '\0');
  if (!hash) {
    std::cerr << "braidctl: the password is not valid UTF-8\n";
    return 2;
  }
  if (Status s = addCredentialsUser(pos[0], pos[1], group, *hash); !s) {
    std::cerr << "braidctl: " << s.message() << "\n";
    return s.code() == ErrorCode::kIoError ? 1 : 2;
  }
  std::cout << "user '" << pos[1] << "'" << (group.empty() ? "" : " (group " + group + ")")
            << " written to " << pos[0] << "; braidctl reload applies it\n";
  return 0;
}

}  // namespace braid::edge
