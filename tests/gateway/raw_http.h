// A raw HTTP/1.1 client over loopback sockets for the edge tests: it sends exactly the bytes a
// test gives it (malformed, endless or slow), from a chosen source address, and reads what comes
// back. An HTTP library would refuse to send most of what these tests send.
#ifndef QCASH_TESTS_GATEWAY_RAW_HTTP_H_
#define QCASH_TESTS_GATEWAY_RAW_HTTP_H_

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>

namespace qcash::testing::raw {

using Clock = std::chrono::steady_clock;

// A connected socket to 127.0.0.1:`port` from `source` (any 127.x.y.z; "" for the default), or
// -1.
inline int Connect(int port, const std::string& source = "") {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  if (!source.empty()) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    inet_pton(AF_INET, source.c_str(), &local.sin_addr);
    if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) {
      close(fd);
      return -1;
    }
  }
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof(remote)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Writes all of `data`; false when the peer has closed or reset the connection.
inline bool SendAll(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

// What arrives within `wait`: reads until the peer closes, an error, or the time is up.
// `*closed` says whether the peer closed (EOF or reset).
inline std::string ReadFor(int fd, std::chrono::milliseconds wait, bool* closed = nullptr) {
  std::string data;
  if (closed != nullptr) *closed = false;
  const auto deadline = Clock::now() + wait;
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return data;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    char buffer[16384];
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (closed != nullptr) *closed = true;
      return data;
    }
    data.append(buffer, static_cast<size_t>(n));
  }
}

// Reads one whole response (headers and a Content-Length body) within `wait`; "" if none came.
inline std::string ReadResponse(int fd, std::chrono::milliseconds wait, bool* closed = nullptr) {
  std::string data;
  if (closed != nullptr) *closed = false;
  const auto deadline = Clock::now() + wait;
  while (Clock::now() < deadline) {
    const size_t end = data.find("\r\n\r\n");
    if (end != std::string::npos) {
      size_t length = 0;
      const size_t at = data.find("Content-Length: ");
      if (at != std::string::npos && at < end)
        length = std::strtoul(data.c_str() + at + 16, nullptr, 10);
      if (data.size() >= end + 4 + length) return data.substr(0, end + 4 + length);
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left > 0 ? left : 0)) <= 0) continue;
    char buffer[16384];
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (closed != nullptr) *closed = true;
      return data.find("\r\n\r\n") != std::string::npos ? data : "";
    }
    data.append(buffer, static_cast<size_t>(n));
  }
  return "";
}

// The status code of a response ("HTTP/1.1 200 OK..."), or 0.
inline int StatusOf(const std::string& response) {
  if (response.rfind("HTTP/1.", 0) != 0 || response.size() < 12) return 0;
  return std::atoi(response.c_str() + 9);
}

// The body of a response.
inline std::string BodyOf(const std::string& response) {
  const size_t end = response.find("\r\n\r\n");
  return end == std::string::npos ? "" : response.substr(end + 4);
}

// One request on a fresh connection (`request` should say Connection: close); the response.
inline std::string Exchange(int port, const std::string& request,
                            std::chrono::milliseconds wait = std::chrono::seconds(10)) {
  const int fd = Connect(port);
  if (fd < 0) return "";
  std::string response;
  if (SendAll(fd, request)) response = ReadResponse(fd, wait);
  close(fd);
  return response;
}

// True when the peer closes (or resets) `fd` within `wait`, reading and dropping whatever comes.
inline bool PeerCloses(int fd, std::chrono::milliseconds wait) {
  bool closed = false;
  ReadFor(fd, wait, &closed);
  return closed;
}

// The resident set of process `pid` in KiB (VmRSS of /proc/<pid>/status), or -1.
inline long RssKib(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

}  // namespace qcash::testing::raw

#endif  // QCASH_TESTS_GATEWAY_RAW_HTTP_H_
