// libfiner1_cuda: the few libtorch CUDA features TorchSharp 0.107 does not expose, behind a plain C ABI.
//
//   * CUDA graphs (at::cuda::CUDAGraph): capture a whole decode step once, replay it every step.
//   * caching-allocator statistics (allocated / reserved bytes, current and peak).
//
// Built against one libtorch version (the C++ API and class layouts change between minor versions), so FineR1 loads it
// only after a run-time probe (f1_probe) passed and falls back to eager decoding otherwise. Every function catches
// every exception: no C++ exception ever crosses into .NET. Errors return a non-zero code (or null) and leave a
// message in a thread-local string read by f1_last_error.
//
// Capture rules (see docs/decode-path.md): the thread that captures is the thread that runs every TorchSharp op of
// the step (the "current stream" is thread-local); capture runs on a side stream taken from libtorch's pool, after a
// device synchronisation, and the previous stream is restored when capture ends. Replays run on the caller's current
// stream (the default stream in FineR1).
#include <ATen/ATen.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/version.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace {
thread_local std::string last_error;

struct Graph {
  at::cuda::CUDAGraph graph;
  std::optional<c10::cuda::CUDAStream> previous;  // the stream current before capture_begin
  bool capturing = false;
};

// One side stream per process for capture and warm-up (captures always happen on one thread in FineR1).
std::optional<c10::cuda::CUDAStream> side_stream;
std::optional<c10::cuda::CUDAStream> stream_before_side;

c10::cuda::CUDAStream side() {
  if (!side_stream) side_stream = c10::cuda::getStreamFromPool(/*isHighPriority=*/false);
  return *side_stream;
}

template <typename F>
int guarded(F&& f) {
  try {
    f();
    return 0;
  } catch (const std::exception& e) {
    last_error = e.what();
  } catch (...) {
    last_error = "unknown C++ exception";
  }
  return 1;
}
}  // namespace

extern "C" {

// libtorch version the library was compiled against, as major * 100 + minor (211 for 2.11).
int f1_version(void) { return TORCH_VERSION_MAJOR * 100 + TORCH_VERSION_MINOR; }

// The message of the last failed call on this thread ("" when none).
const char* f1_last_error(void) { return last_error.c_str(); }

// A pool id shared by all graphs captured with it (graphs of different batch buckets share their memory: safe because
// FineR1 replays one graph at a time and reads its outputs before the next replay). Writes the two halves of the id.
int f1_graph_pool_handle(uint64_t* first, uint64_t* second) {
  return guarded([&] {
    auto id = at::cuda::graph_pool_handle();
    *first = id.first;
    *second = id.second;
  });
}

void* f1_graph_new(void) {
  void* result = nullptr;
  guarded([&] { result = new Graph(); });
  return result;
}

void f1_graph_free(void* handle) {
  guarded([&] { delete static_cast<Graph*>(handle); });
}

// Makes the side stream current on this thread (after the device finished all earlier work), for warm-up steps that
// must run on the stream the capture will use (cuBLAS workspaces, lazily loaded kernels).
int f1_side_stream_enter(void) {
  return guarded([&] {
    if (stream_before_side) throw std::runtime_error("f1_side_stream_enter: already on the side stream");
    c10::cuda::device_synchronize();
    stream_before_side = c10::cuda::getCurrentCUDAStream();
    c10::cuda::setCurrentCUDAStream(side());
  });
}

int f1_side_stream_exit(void) {
  return guarded([&] {
    if (!stream_before_side) throw std::runtime_error("f1_side_stream_exit: not on the side stream");
    c10::cuda::device_synchronize();
    c10::cuda::setCurrentCUDAStream(*stream_before_side);
    stream_before_side.reset();
  });
}

// Starts capturing everything this thread launches into the graph. mode: 0 global, 1 thread-local, 2 relaxed
// (cudaStreamCaptureMode). pool_first/pool_second: an id from f1_graph_pool_handle, or 0/0 for a private pool.
int f1_graph_capture_begin(void* handle, uint64_t pool_first, uint64_t pool_second, int mode) {
  return guarded([&] {
    auto* g = static_cast<Graph*>(handle);
    if (g->capturing) throw std::runtime_error("f1_graph_capture_begin: capture already running");
    c10::cuda::device_synchronize();
    g->previous = c10::cuda::getCurrentCUDAStream();
    c10::cuda::setCurrentCUDAStream(side());
    try {
      g->graph.capture_begin(at::cuda::MempoolId_t{pool_first, pool_second}, static_cast<cudaStreamCaptureMode>(mode));
    } catch (...) {
      c10::cuda::setCurrentCUDAStream(*g->previous);
      throw;
    }
    g->capturing = true;
  });
}

// Ends the capture (instantiates the graph) and restores the stream that was current before capture_begin.
int f1_graph_capture_end(void* handle) {
  return guarded([&] {
    auto* g = static_cast<Graph*>(handle);
    if (!g->capturing) throw std::runtime_error("f1_graph_capture_end: no capture running");
    g->capturing = false;
    try {
      g->graph.capture_end();
    } catch (...) {
      c10::cuda::setCurrentCUDAStream(*g->previous);
      throw;
    }
    c10::cuda::device_synchronize();
    c10::cuda::setCurrentCUDAStream(*g->previous);
  });
}

// Launches the captured work on the current stream (asynchronous, like any kernel launch).
int f1_graph_replay(void* handle) {
  return guarded([&] { static_cast<Graph*>(handle)->graph.replay(); });
}

// Self-test: capture x.add_(1) on a fresh graph, replay it twice, expect 2 everywhere. 0 = passed.
int f1_probe(int device) {
  return guarded([&] {
    c10::cuda::set_device(static_cast<c10::DeviceIndex>(device));
    auto x = at::zeros({1024}, at::TensorOptions().device(at::kCUDA, device).dtype(at::kFloat));
    c10::cuda::device_synchronize();
    auto previous = c10::cuda::getCurrentCUDAStream();
    c10::cuda::setCurrentCUDAStream(side());
    at::cuda::CUDAGraph graph;
    try {
      graph.capture_begin({0, 0}, cudaStreamCaptureModeThreadLocal);
      x.add_(1);
      graph.capture_end();
    } catch (...) {
      c10::cuda::setCurrentCUDAStream(previous);
      throw;
    }
    c10::cuda::device_synchronize();
    c10::cuda::setCurrentCUDAStream(previous);
    graph.replay();
    graph.replay();
    c10::cuda::device_synchronize();
    double sum = x.sum().item<double>();
    if (sum != 2.0 * 1024) throw std::runtime_error("f1_probe: replayed graph gave sum " + std::to_string(sum) + ", expected 2048");
  });
}

// Caching-allocator statistics of `device` (all pools together), in bytes:
// out[0] allocated current, out[1] allocated peak, out[2] reserved current, out[3] reserved peak.
int f1_memory_stats(int device, int64_t* out) {
  return guarded([&] {
    auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(static_cast<c10::DeviceIndex>(device));
    const size_t all = 0;  // StatType::AGGREGATE (its namespace moved between versions; its value did not)
    out[0] = stats.allocated_bytes[all].current;
    out[1] = stats.allocated_bytes[all].peak;
    out[2] = stats.reserved_bytes[all].current;
    out[3] = stats.reserved_bytes[all].peak;
  });
}

int f1_reset_peak_memory_stats(int device) {
  return guarded([&] { c10::cuda::CUDACachingAllocator::resetPeakStats(static_cast<c10::DeviceIndex>(device)); });
}

}  // extern "C"
