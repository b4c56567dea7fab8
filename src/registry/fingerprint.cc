#include "registry/fingerprint.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace kexin::registry {
namespace {

// Chunk boundaries of a buffer: [start, end) pairs.
std::vector<std::pair<uint64_t, uint64_t>> Boundaries(const char* data, uint64_t size,
                                                      uint64_t chunk) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  uint64_t start = 0;
  while (start < size) {
    uint64_t end = start + chunk;
    if (end >= size) {
      end = size;
    } else {
      const void* nl = memchr(data + end - 1, '\n', size - (end - 1));
      end = nl ? static_cast<uint64_t>(static_cast<const char*>(nl) - data) + 1 : size;
    }
    out.push_back({start, end});
    start = end;
  }
  return out;
}

class Mapped {
 public:
  ~Mapped() {
    if (data_ && data_ != MAP_FAILED) munmap(data_, size_);
    if (fd_ >= 0) close(fd_);
  }
  Status Open(const std::string& path) {
    fd_ = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) return ErrnoError(path, errno);
    struct stat st;
    if (fstat(fd_, &st) != 0) return ErrnoError(path, errno);
    if (S_ISDIR(st.st_mode)) return InvalidArgument(path + ": is a directory");
    size_ = static_cast<uint64_t>(st.st_size);
    if (size_ == 0) return Status::Ok();
    data_ = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
    if (data_ == MAP_FAILED) return ErrnoError(path, errno);
    madvise(data_, size_, MADV_SEQUENTIAL);
    return Status::Ok();
  }
  const char* data() const { return static_cast<const char*>(data_); }
  uint64_t size() const { return size_; }

 private:
  int fd_ = -1;
  void* data_ = nullptr;
  uint64_t size_ = 0;
};

}  // namespace

Result<Fingerprint> FingerprintFile(const std::string& path, uint64_t chunk_bytes, int threads) {
  if (chunk_bytes < 1024)
    return InvalidArgument("fingerprint chunk size must be at least 1024 bytes");
  Mapped m;
  KEXIN_RETURN_IF_ERROR(m.Open(path));
  Fingerprint f;
  f.chunk_bytes = chunk_bytes;
  f.bytes = m.size();
  auto bounds = Boundaries(m.data(), m.size(), chunk_bytes);
  f.chunks = bounds.size();
  f.leaves.resize(bounds.size());
  int n = std::max(1, threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < n; ++t) {
    pool.emplace_back([&, t] {
      for (size_t i = static_cast<size_t>(t); i < bounds.size(); i += static_cast<size_t>(n)) {
        f.leaves[i] = ledger::LeafHash(
            std::string_view(m.data() + bounds[i].first, bounds[i].second - bounds[i].first));
      }
    });
  }
  for (auto& th : pool) th.join();
  ledger::MemoryTree tree;
  for (const auto& h : f.leaves) tree.Append(h);
  f.root = tree.Root(tree.size());
  return f;
}

Result<ChunkProof> ProveChunk(const std::string& path, uint64_t index, uint64_t chunk_bytes) {
  if (chunk_bytes < 1024)
    return InvalidArgument("fingerprint chunk size must be at least 1024 bytes");
  Mapped m;
  KEXIN_RETURN_IF_ERROR(m.Open(path));
  auto bounds = Boundaries(m.data(), m.size(), chunk_bytes);
  if (index >= bounds.size()) {
    return InvalidArgument(path + ": chunk " + std::to_string(index) + " does not exist (" +
                           std::to_string(bounds.size()) + " chunks)");
  }
  ledger::MemoryTree tree;
  for (const auto& [s, e] : bounds)
    tree.Append(ledger::LeafHash(std::string_view(m.data() + s, e - s)));
  ChunkProof p;
  p.index = index;
  p.offset = bounds[index].first;
  p.data.assign(m.data() + bounds[index].first, bounds[index].second - bounds[index].first);
  p.proof = tree.InclusionProof(index, tree.size());
  return p;
}

}  // namespace kexin::registry
