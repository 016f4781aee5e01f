// cli/client_socket.h — whether the client of a request is still there, for handlers that
// work long before they answer (a non-streamed completion). cpp-httplib 0.11 hands a
// handler neither its socket nor a "connection closed" test, so the socket is found by the
// connection's two endpoints among this process's descriptors (one TCP connection has one
// address / port pair on each side), and tested with poll(POLLRDHUP): set once the client
// closed or shut down its side. Streamed responses learn the same from a failed write.
// What it is not: a keep-alive probe (a client that vanished without closing, e.g. a pulled
// cable, is only noticed when the kernel gives up on it).
#pragma once

#include <httplib.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstdlib>
#include <string>

namespace eqt::cli {

namespace detail {
inline bool endpoint_is(const sockaddr_storage& a, const std::string& addr, int port) {
  char buf[INET6_ADDRSTRLEN] = {0};
  int p = -1;
  if (a.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(a);
    inet_ntop(AF_INET, &v4.sin_addr, buf, sizeof(buf));
    p = ntohs(v4.sin_port);
  } else if (a.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(a);
    inet_ntop(AF_INET6, &v6.sin6_addr, buf, sizeof(buf));
    p = ntohs(v6.sin6_port);
  } else {
    return false;
  }
  return p == port && addr == buf;
}
}  // namespace detail

// The descriptor of the connection `req` came on, or -1 when none matches.
inline int find_client_socket(const httplib::Request& req) {
  DIR* d = opendir("/proc/self/fd");
  if (!d) return -1;
  int found = -1;
  while (dirent* e = readdir(d)) {
    char* end = nullptr;
    const long fd = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || fd == dirfd(d)) continue;
    sockaddr_storage local {}, peer {};
    socklen_t ll = sizeof(local), pl = sizeof(peer);
    if (getsockname(int(fd), reinterpret_cast<sockaddr*>(&local), &ll) != 0) continue;
    if (getpeername(int(fd), reinterpret_cast<sockaddr*>(&peer), &pl) != 0) continue;
    if (detail::endpoint_is(peer, req.remote_addr, req.remote_port) &&
        detail::endpoint_is(local, req.local_addr, req.local_port)) {
      found = int(fd);
      break;
    }
  }
  closedir(d);
  return found;
}

// True once the client closed (or half-closed) its side, or the connection failed.
inline bool client_gone(int fd) {
  if (fd < 0) return false;
  pollfd p{fd, POLLRDHUP, 0};
  return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

}  // namespace eqt::cli
