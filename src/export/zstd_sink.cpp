#include <zstd.h>

#include <string>

#include "src/export/sink_impl.hpp"

namespace spate::sink_detail {

ZstdSink::ZstdSink(std::unique_ptr<Sink> inner, int level, std::string name, unsigned threads)
    : inner_(std::move(inner)), name_(std::move(name)) {
    cctx_ = ZSTD_createCCtx();
    if (cctx_ == nullptr) {
        throw SinkError(name_ + ": cannot create zstd context");
    }
    size_t r = ZSTD_CCtx_setParameter(cctx_, ZSTD_c_compressionLevel, level);
    if (ZSTD_isError(r)) {
        const ZSTD_bounds b = ZSTD_cParam_getBounds(ZSTD_c_compressionLevel);
        ZSTD_freeCCtx(cctx_);
        cctx_ = nullptr;
        throw SinkError(name_ + ": zstd level " + std::to_string(level) + " out of range " +
                        std::to_string(b.lowerBound) + ".." + std::to_string(b.upperBound));
    }
    if (threads > 0) {
        r = ZSTD_CCtx_setParameter(cctx_, ZSTD_c_nbWorkers, static_cast<int>(threads));
        if (ZSTD_isError(r)) {  // a libzstd built without multithreading
            ZSTD_freeCCtx(cctx_);
            cctx_ = nullptr;
            throw SinkError(name_ + ": zstd compression threads unavailable: " +
                            ZSTD_getErrorName(r));
        }
    }
    r = ZSTD_CCtx_setParameter(cctx_, ZSTD_c_checksumFlag, 1);
    if (ZSTD_isError(r)) {
        ZSTD_freeCCtx(cctx_);
        cctx_ = nullptr;
        throw SinkError(name_ + ": zstd: " + ZSTD_getErrorName(r));
    }
    out_cap_ = ZSTD_CStreamOutSize();
    out_.reset(new char[out_cap_]);
}

ZstdSink::~ZstdSink() {
    try {
        close();
    } catch (...) {  // NOLINT(bugprone-empty-catch): nowhere to report from a destructor
    }
    ZSTD_freeCCtx(cctx_);
}

void ZstdSink::pump(ZSTD_inBuffer& in, ZSTD_EndDirective mode) {
    for (;;) {
        ZSTD_outBuffer out{out_.get(), out_cap_, 0};
        const size_t remaining = ZSTD_compressStream2(cctx_, &out, &in, mode);
        if (ZSTD_isError(remaining)) {
            throw SinkError(name_ + ": zstd compression failed: " + ZSTD_getErrorName(remaining));
        }
        if (out.pos > 0) {
            inner_->write(std::string_view(out_.get(), out.pos));
        }
        // e_continue is done once the input is consumed; flush/end are done
        // when the compressor has nothing left to emit (which implies that).
        if (mode == ZSTD_e_continue ? in.pos == in.size : remaining == 0) {
            return;
        }
    }
}

void ZstdSink::write(std::string_view data) {
    if (closed_) {
        throw SinkError(name_ + ": write after close");
    }
    if (data.empty()) {
        return;
    }
    bytes_in_ += data.size();
    in_frame_ = true;
    ZSTD_inBuffer in{data.data(), data.size(), 0};
    pump(in, ZSTD_e_continue);
}

void ZstdSink::flush() {
    if (closed_) {
        return;
    }
    // Ending the frame (not just the block) is what lets recover() cut the
    // file back to this point and still leave a valid zstd file. The price
    // is a frame header and checksum per flush and a window that starts
    // afresh: a few percent when a flush covers 64 KiB or more (the
    // exporter flushes about once a second), more for slow trickles.
    const bool ending = in_frame_;
    if (ending) {
        ZSTD_inBuffer in{nullptr, 0, 0};
        pump(in, ZSTD_e_end);
        in_frame_ = false;
    }
    inner_->flush();
    if (ending) {
        frame_ended_ = true;
    }
}

void ZstdSink::recover() {
    if (closed_) {
        throw SinkError(name_ + ": cannot recover after close");
    }
    // Drops the half-built frame; the next write() starts a new one.
    ZSTD_CCtx_reset(cctx_, ZSTD_reset_session_only);
    in_frame_ = false;
    inner_->recover();
}

void ZstdSink::close() {
    if (closed_) {
        return;
    }
    closed_ = true;
    try {
        // An empty output still gets one (empty) frame: an empty file is not
        // valid zstd.
        if (in_frame_ || !frame_ended_) {
            ZSTD_inBuffer in{nullptr, 0, 0};
            pump(in, ZSTD_e_end);
        }
    } catch (...) {
        try {
            inner_->close();
        } catch (...) {  // NOLINT(bugprone-empty-catch): the first error is the one to report
        }
        throw;
    }
    inner_->close();
}

}  // namespace spate::sink_detail
