// Content fingerprints of data files: a RFC 9162 Merkle root over fixed-size chunks of whole
// lines, so a later copy can be proven identical (same root) and a single chunk proven to belong
// (inclusion proof). Chunk i starts where chunk i-1 ended and ends just after the first newline at
// or beyond chunk_bytes from its start (or at end of file). Format: docs/registry.md.
// Thread-safety: pure functions.
#ifndef KEXIN_REGISTRY_FINGERPRINT_H_
#define KEXIN_REGISTRY_FINGERPRINT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "kexin/status.h"
#include "ledger/merkle.h"

namespace kexin::registry {

constexpr uint64_t kDefaultChunkBytes = uint64_t{1} << 20;
constexpr const char* kFingerprintAlgorithm = "kexin-line-chunk-merkle-v1";

struct Fingerprint {
  std::string algorithm = kFingerprintAlgorithm;
  uint64_t chunk_bytes = kDefaultChunkBytes;
  uint64_t bytes = 0;
  uint64_t chunks = 0;
  ledger::Hash root{};
  std::vector<ledger::Hash> leaves;  // one leaf hash per chunk
};

// Reads the file once; `threads` workers hash chunks in parallel.
Result<Fingerprint> FingerprintFile(const std::string& path,
                                    uint64_t chunk_bytes = kDefaultChunkBytes, int threads = 1);

// The bytes of chunk `index` and its inclusion proof in the fingerprint tree.
struct ChunkProof {
  uint64_t index = 0, offset = 0;
  std::string data;
  std::vector<ledger::Hash> proof;
};
Result<ChunkProof> ProveChunk(const std::string& path, uint64_t index,
                              uint64_t chunk_bytes = kDefaultChunkBytes);

}  // namespace kexin::registry

#endif  // KEXIN_REGISTRY_FINGERPRINT_H_
