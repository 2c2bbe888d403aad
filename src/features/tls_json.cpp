// tls: the record fields (tls, quic, fingerprints, fingerprint_match),
// written on the exporter from the compact state the worker kept.
#include <algorithm>
#include <cstdio>
#include <cstring>

#include "spate/features/tls_state.hpp"
#include "spate/features/units.hpp"
#include "spate/proto/fingerprint.hpp"
#include "spate/proto/fingerprint_db.hpp"
#include "spate/proto/tls.hpp"
#include "spate/proto/x509.hpp"

namespace spate::features {

using namespace tls_state;

namespace {

/// A protocol code point: a JSON integer, in every unit (docs/record-schema.md).
void code(JsonWriter& w, uint32_t v) {
    w.value(uint64_t{v});
}

/// A list of 2-byte code points.
void code16_list(JsonWriter& w, std::string_view key, proto::Span s) {
    if (s.n < 2) {
        return;
    }
    w.key(key);
    w.begin_array();
    for (uint32_t i = 0; i + 1 < s.n; i += 2) {
        code(w, uint32_t(s.p[i] << 8 | s.p[i + 1]));
    }
    w.end_array();
}

/// ALPN protocol_name_list -> array of strings.
void alpn_list(JsonWriter& w, std::string_view key, proto::Span s) {
    if (s.n == 0) {
        return;
    }
    w.key(key);
    w.begin_array();
    uint32_t i = 0;
    while (i < s.n) {
        const uint32_t l = s.p[i];
        if (i + 1 + l > s.n) {
            break;
        }
        w.value(std::string_view(reinterpret_cast<const char*>(s.p + i + 1), l));
        i += 1 + l;
    }
    w.end_array();
}

void extensions(JsonWriter& w, std::string_view types_key, std::string_view list_key,
                const proto::TlsExtension* ext, uint16_t count) {
    w.key(types_key);
    w.begin_array();
    for (uint16_t i = 0; i < count; ++i) {
        w.value(uint64_t{ext[i].type});
    }
    w.end_array();
    w.key(list_key);
    w.begin_array();
    for (uint16_t i = 0; i < count; ++i) {
        w.begin_object();
        w.key("type");
        w.value(uint64_t{ext[i].type});
        w.key("data");
        w.hex(ext[i].data.p, ext[i].data.n);
        w.end_object();
    }
    w.end_array();
}

void name_json(JsonWriter& w, std::string_view key, proto::Span name) {
    w.key(key);
    w.begin_array();
    proto::for_each_name_attr(name, [&](proto::Span oid, proto::Span value, uint8_t tag) {
        char oid_text[128];
        const char* shortname = proto::oid_short_name(oid);
        size_t on = shortname != nullptr ? std::strlen(shortname)
                                         : proto::oid_to_text(oid, oid_text, sizeof(oid_text));
        char val[1024];
        size_t vn = proto::name_value_to_utf8(value, tag, val, sizeof(val));
        w.begin_object();
        w.key("type");
        w.value(std::string_view(shortname != nullptr ? shortname : oid_text, on));
        w.key("value");
        w.value(std::string_view(val, vn));
        w.end_object();
    });
    w.end_array();
}

void oid_json(JsonWriter& w, std::string_view key, proto::Span oid) {
    if (oid.n == 0) {
        return;
    }
    w.key(key);
    const char* name = proto::oid_name(oid);
    if (name != nullptr) {
        w.value(name);
        return;
    }
    char text[128];
    size_t n = proto::oid_to_text(oid, text, sizeof(text));
    w.value(std::string_view(text, n));
}

void certificates_json(const TlsState& st, const uint8_t* certs, JsonWriter& w) {
    w.key("s_cert");
    w.begin_array();
    uint32_t at = 0;
    for (uint8_t i = 0; i < st.cert_count && at + sizeof(CertHeader) <= st.cert_len; ++i) {
        CertHeader h;
        std::memcpy(&h, certs + at, sizeof(h));
        proto::Span f[kCertFields];
        uint32_t pos = at + sizeof(CertHeader);
        for (auto& s : f) {
            const uint32_t n = uint32_t(certs[pos] << 8 | certs[pos + 1]);
            s = proto::Span{certs + pos + 2, n};
            pos += 2 + n;
        }
        at += h.total;
        w.begin_object();
        w.key("length");
        w.value(uint64_t{h.der_len});
        w.key("version");
        w.value(uint64_t{h.version});
        char buf[256];
        size_t n = proto::serial_to_text(f[0], buf, sizeof(buf));
        w.key("serial_number");
        w.value(std::string_view(buf, n));
        oid_json(w, "signature_algorithm", f[1]);
        name_json(w, "subject", f[2]);
        name_json(w, "issuer", f[3]);
        n = proto::time_to_text(f[4], h.not_before_tag, buf, sizeof(buf));
        w.key("validity_not_before");
        w.value(std::string_view(buf, n));
        n = proto::time_to_text(f[5], h.not_after_tag, buf, sizeof(buf));
        w.key("validity_not_after");
        w.value(std::string_view(buf, n));
        oid_json(w, "public_key_algorithm", f[6]);
        oid_json(w, "public_key_parameters", f[7]);
        w.key("public_key_size");
        w.value(uint64_t{h.pk_bits});
        w.key("san");
        w.begin_array();
        proto::for_each_san_dns(f[8], [&](proto::Span name) { w.value(name.text()); });
        w.end_array();
        w.end_object();
    }
    w.end_array();
}

}  // namespace

const char* Tls::app(const uint8_t* s, const FlowData&, const FeatureConfig&,
                     std::string_view& alpn) {
    const auto& st = *reinterpret_cast<const TlsState*>(s);
    if ((st.flags & kIsTls) == 0) {
        return nullptr;
    }
    // The ALPN protocol the server selected, or else the client's first offer.
    auto first = [](proto::Span list) -> std::string_view {
        if (list.n == 0 || list.p[0] == 0 || 1u + list.p[0] > list.n) {
            return {};
        }
        return {reinterpret_cast<const char*>(list.p + 1), list.p[0]};
    };
    proto::ServerHello sh;
    if (st.sh_len != 0 && proto::parse_server_hello(st.sh, st.sh_len, sh)) {
        alpn = first(sh.alpn);
    }
    proto::ClientHello ch;
    if (alpn.empty() && st.ch_len != 0 && (st.flags & kSslv2) == 0 &&
        proto::parse_client_hello(st.ch, st.ch_len, ch)) {
        alpn = first(ch.alpn);
    }
    return (st.flags & kQuic) != 0 ? "quic" : "tls";
}

void Tls::write_json(const uint8_t* s, const FlowData&, JsonWriter& w, const FeatureConfig& c) {
    const auto& st = *reinterpret_cast<const TlsState*>(s);
    const auto* srlt = reinterpret_cast<const SrltEntry*>(s + sizeof(TlsState));
    proto::ClientHello ch;
    proto::ServerHello sh;
    bool have_ch = false;
    bool have_sh = false;
    if (st.ch_len != 0) {
        have_ch = (st.flags & kSslv2) != 0 ? proto::parse_sslv2_client_hello(st.ch, st.ch_len, ch)
                                           : proto::parse_client_hello(st.ch, st.ch_len, ch);
    }
    if (st.sh_len != 0) {
        have_sh = proto::parse_server_hello(st.sh, st.sh_len, sh);
    }
    const bool quic = (st.flags & kQuic) != 0;
    if ((st.flags & kIsTls) != 0) {
        w.key("tls");
        w.begin_object();
        if (have_ch) {
            w.key("c_version");
            code(w, ch.legacy_version);
            if (ch.sslv2) {
                w.key("c_sslv2");
                w.value(true);
                w.key("c_cipher_specs");
                w.begin_array();
                for (uint32_t i = 0; i + 2 < ch.cipher_specs.n; i += 3) {
                    const uint8_t* p = ch.cipher_specs.p + i;
                    code(w, uint32_t(p[0]) << 16 | uint32_t(p[1]) << 8 | p[2]);
                }
                w.end_array();
            }
            w.key("cs");
            w.begin_array();
            for (size_t i = 0; i < ch.cipher_suite_count(); ++i) {
                code(w, ch.cipher_suite(i));
            }
            w.end_array();
            w.key("c_compression");
            w.begin_array();
            for (uint32_t i = 0; i < ch.compression_methods.n; ++i) {
                w.value(uint64_t{ch.compression_methods.p[i]});
            }
            w.end_array();
            w.key("c_session_id_len");
            w.value(uint64_t{ch.session_id.n});
            extensions(w, "c_extension_types", "c_extensions", ch.extensions, ch.extension_count);
            if (ch.sni.n > 0) {
                w.key("sni");
                w.value(ch.sni.text());
            }
            alpn_list(w, "alpn", ch.alpn);
            code16_list(w, "c_supported_versions", ch.supported_versions);
            code16_list(w, "c_supported_groups", ch.supported_groups);
            code16_list(w, "c_signature_algorithms", ch.signature_algorithms);
            if (ch.key_share.n > 0) {
                w.key("c_key_share_groups");
                w.begin_array();
                for (uint32_t i = 0; i + 4 <= ch.key_share.n;) {
                    code(w, uint32_t(ch.key_share.p[i] << 8 | ch.key_share.p[i + 1]));
                    i += 4 + uint32_t(ch.key_share.p[i + 2] << 8 | ch.key_share.p[i + 3]);
                }
                w.end_array();
            }
            if (ch.ec_point_formats.n > 0) {
                w.key("c_ec_point_formats");
                w.begin_array();
                for (uint32_t i = 0; i < ch.ec_point_formats.n; ++i) {
                    w.value(uint64_t{ch.ec_point_formats.p[i]});
                }
                w.end_array();
            }
            bool grease = false;
            for (size_t i = 0; i < ch.cipher_suite_count(); ++i) {
                grease |= proto::is_grease(ch.cipher_suite(i));
            }
            for (uint16_t i = 0; i < ch.extension_count; ++i) {
                grease |= proto::is_grease(ch.extensions[i].type);
            }
            w.key("c_grease");
            w.value(grease);
        }
        if (st.ch_count > 1) {
            w.key("c_hellos");
            w.value(uint64_t{st.ch_count});
        }
        if (have_sh) {
            w.key("s_version");
            code(w, sh.selected_version != 0 ? sh.selected_version : sh.legacy_version);
            w.key("s_legacy_version");
            code(w, sh.legacy_version);
            w.key("scs");
            code(w, sh.cipher_suite);
            extensions(w, "s_extension_types", "s_extensions", sh.extensions, sh.extension_count);
            alpn_list(w, "s_alpn", sh.alpn);
            if (sh.key_share_group != 0) {
                w.key("s_key_share_group");
                code(w, sh.key_share_group);
            }
        }
        if ((st.flags & kHrr) != 0) {
            w.key("s_hello_retry_request");
            w.value(true);
        }
        if (st.cke_bits != 0) {
            w.key("c_key_length");
            w.value(uint64_t{st.cke_bits});
        }
        if (st.cert_count > 0) {
            certificates_json(st, s + sizeof(TlsState) + size_t{c.tls_records} * sizeof(SrltEntry),
                              w);
        }
        if (st.srlt_count > 0) {
            w.key("srlt");
            w.begin_array();
            uint32_t prev = 0;
            for (uint16_t i = 0; i < st.srlt_count; ++i) {
                const SrltEntry& e = srlt[i];
                w.begin_object();
                w.key("b");
                w.value(uint64_t{e.len});
                w.key("dir");
                w.value((e.type >> 7) != 0 ? "<" : ">");
                w.key("ipt");
                w.value(uint64_t{(e.t_us - std::min(prev, e.t_us)) / 1000});
                w.key("tp");
                w.value(uint64_t{e.type & 0x7fu});
                if ((e.type & 0x7f) == 22 && e.hs != 0) {
                    w.key("hs");
                    w.value(uint64_t{e.hs});
                }
                w.end_object();
                prev = e.t_us;
            }
            w.end_array();
        }
        // What could not be followed, per direction ("c" client, "s" server).
        const char* side[2] = {"c", "s"};
        bool any = (st.flags & (kChTruncated | kShTruncated | kCertTruncated)) != 0;
        for (const DirState& d : st.dir) {
            any |= (d.flags & (kDirGap | kDirTooBig | kDirBufferLost | kDirLostSync)) != 0 ||
                   d.hs_have != 0;
        }
        if (any) {
            w.key("incomplete");
            w.begin_array();
            for (int i = 0; i < 2; ++i) {
                const DirState& d = st.dir[i];
                char b[32];
                auto item = [&](const char* what) {
                    int n = std::snprintf(b, sizeof(b), "%s:%s", side[i], what);
                    w.value(std::string_view(b, static_cast<size_t>(n)));
                };
                if (d.flags & kDirGap)
                    item("gap");
                if (d.flags & kDirTooBig)
                    item("message_too_big");
                if (d.flags & kDirBufferLost)
                    item("buffer_lost");
                if (d.flags & kDirLostSync)
                    item("lost_sync");
                if (d.hs_have != 0 && d.mode != kModeLost)
                    item("message_unfinished");
            }
            if (st.flags & kChTruncated)
                w.value("client_hello_cut");
            if (st.flags & kShTruncated)
                w.value("server_hello_cut");
            if (st.flags & kCertTruncated)
                w.value("certificates_cut");
            w.end_array();
        }
        w.end_object();
    }
    if (quic) {
        w.key("quic");
        w.begin_object();
        w.key("version");
        code(w, st.quic_version);
        w.key("dcid");
        w.hex(st.quic_dcid, st.quic_dcid_len);
        w.key("scid");
        w.hex(st.quic_scid, st.quic_scid_len);
        if (st.quic_server_scid_len > 0) {
            w.key("s_scid");
            w.hex(st.quic_server_scid, st.quic_server_scid_len);
        }
        w.end_object();
    }
    // Fingerprints.
    if (!have_ch && !have_sh && (st.flags & kSynSeen) == 0) {
        return;
    }
    char buf[8192];
    char tls_fp[8192];
    size_t tls_fp_len = 0;
    w.key("fingerprints");
    w.begin_object();
    if (have_ch && ch.sslv2) {
        size_t n = proto::ja4(ch, proto::TlsTransport::tcp, buf, sizeof(buf));
        w.key("ja4");
        w.value(std::string_view(buf, n));
    }
    if (have_ch && !ch.sslv2) {
        size_t n = proto::ja3_string(ch, buf, sizeof(buf));
        char md5[proto::kJa3HashBuf];
        proto::ja3_hash(ch, md5);
        w.key("ja3");
        w.value(std::string_view(md5, 32));
        w.key("ja3_str");
        w.value(std::string_view(buf, n));
        n = proto::ja4(ch, quic ? proto::TlsTransport::quic : proto::TlsTransport::tcp, buf,
                       sizeof(buf));
        w.key("ja4");
        w.value(std::string_view(buf, n));
        tls_fp_len = proto::tls_fingerprint(ch, tls_fp, sizeof(tls_fp));
        w.key("tls");
        w.value(std::string_view(tls_fp, tls_fp_len));
    }
    if (have_sh) {
        size_t n = proto::ja3s_string(sh, buf, sizeof(buf));
        char md5[proto::kJa3HashBuf];
        proto::ja3s_hash(sh, md5);
        w.key("ja3s");
        w.value(std::string_view(md5, 32));
        w.key("ja3s_str");
        w.value(std::string_view(buf, n));
    }
    if ((st.flags & kSynSeen) != 0) {
        size_t n =
            proto::tcp_syn_fingerprint(st.syn_window, st.syn_opts, st.syn_len, buf, sizeof(buf));
        w.key("tcp");
        w.value(std::string_view(buf, n));
    }
    w.end_object();
    if (c.fp_db != nullptr && tls_fp_len > 0) {
        w.key("fingerprint_match");
        w.begin_object();
        const proto::FingerprintMatch* m = c.fp_db->find(std::string_view(tls_fp, tls_fp_len));
        if (m == nullptr) {
            w.key("unknown");
            w.value(true);
        } else {
            w.key("process");
            w.value(m->process);
            w.key("category");
            w.value(m->category);
            w.key("os");
            w.value(m->os);
            w.key("prevalence");
            w.value_double(m->prevalence, 4);
        }
        w.end_object();
    }
}

}  // namespace spate::features
