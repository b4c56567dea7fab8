// Module `server` (internal): splitting absolute http(s) URLs for the peer client.
#ifndef KEXIN_SERVER_URL_H_
#define KEXIN_SERVER_URL_H_

#include <string>
#include <string_view>

#include "kexin/status.h"

namespace kexin::server::internal {

struct Url {
  std::string scheme;     // "http" or "https"
  std::string host;       // without brackets for IPv6
  std::string port;       // explicit or the scheme's default
  std::string authority;  // as written: host[:port], sent as Host
  std::string target;     // path and query, at least "/"
};

// kInvalidArgument naming the URL for anything but http:// or https:// URLs with a host.
Result<Url> ParseUrl(std::string_view url);

}  // namespace kexin::server::internal

#endif  // KEXIN_SERVER_URL_H_
