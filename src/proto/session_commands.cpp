// The command table: which handler answers which verb, and what it needs first.
#include "proto/session.hpp"

#include <algorithm>
#include <iterator>
#include <string_view>

namespace ferry::proto {

const Session::CommandSpec* Session::find_command(std::string_view verb) {
    // verb, handler, needs login, needs an argument. Sorted by verb for the binary search.
    static constexpr CommandSpec table[] = {
        {"ABOR", &Session::cmd_abor, true, false},  {"ACCT", &Session::cmd_acct, false, false},
        {"ALLO", &Session::cmd_allo, true, true},   {"APPE", &Session::cmd_appe, true, true},
        {"AUTH", &Session::cmd_auth, false, true},
        {"AVBL", &Session::cmd_avbl, true, false},
        {"CCC", &Session::cmd_ccc, false, false},
        {"CDUP", &Session::cmd_cdup, true, false},  {"CWD", &Session::cmd_cwd, true, true},
        {"DELE", &Session::cmd_dele, true, true},   {"EPRT", &Session::cmd_eprt, true, true},
        {"EPSV", &Session::cmd_epsv, true, false},  {"FEAT", &Session::cmd_feat, false, false},
        {"HASH", &Session::cmd_hash, true, true},
        {"HELP", &Session::cmd_help, false, false}, {"LIST", &Session::cmd_list, true, false},
        {"MDTM", &Session::cmd_mdtm, true, true},   {"MFMT", &Session::cmd_mfmt, true, true},
        {"MKD", &Session::cmd_mkd, true, true},     {"MLSD", &Session::cmd_mlsd, true, false},
        {"MLST", &Session::cmd_mlst, true, false},  {"MODE", &Session::cmd_mode, false, true},
        {"NLST", &Session::cmd_nlst, true, false},  {"NOOP", &Session::cmd_noop, false, false},
        {"OPTS", &Session::cmd_opts, false, true},  {"PASS", &Session::cmd_pass, false, false},
        {"PASV", &Session::cmd_pasv, true, false},
        {"PBSZ", &Session::cmd_pbsz, false, true},  {"PORT", &Session::cmd_port, true, true},
        {"PROT", &Session::cmd_prot, false, true},
        {"PWD", &Session::cmd_pwd, true, false},    {"QUIT", &Session::cmd_quit, false, false},
        {"RANG", &Session::cmd_rang, true, true},
        {"REIN", &Session::cmd_rein, false, false}, {"REST", &Session::cmd_rest, true, true},
        {"RETR", &Session::cmd_retr, true, true},   {"RMD", &Session::cmd_rmd, true, true},
        {"RNFR", &Session::cmd_rnfr, true, true},   {"RNTO", &Session::cmd_rnto, true, true},
        {"SITE", &Session::cmd_site, false, true},
        {"SIZE", &Session::cmd_size, true, true},   {"STAT", &Session::cmd_stat, false, false},
        {"STOR", &Session::cmd_stor, true, true},   {"STOU", &Session::cmd_stou, true, false},
        {"STRU", &Session::cmd_stru, false, true},  {"SYST", &Session::cmd_syst, false, false},
        {"TYPE", &Session::cmd_type, false, true},  {"USER", &Session::cmd_user, false, true},
        {"XCRC", &Session::cmd_xcrc, true, true},
        {"XCUP", &Session::cmd_cdup, true, false},  {"XCWD", &Session::cmd_cwd, true, true},
        {"XMD5", &Session::cmd_xmd5, true, true},
        {"XMKD", &Session::cmd_mkd, true, true},    {"XPWD", &Session::cmd_pwd, true, false},
        {"XRMD", &Session::cmd_rmd, true, true},    {"XSHA1", &Session::cmd_xsha1, true, true},
        {"XSHA256", &Session::cmd_xsha256, true, true}, {"XSHA512", &Session::cmd_xsha512, true, true},
    };
    constexpr auto by_verb = [](const CommandSpec& a, const CommandSpec& b) {
        return std::string_view(a.verb) < std::string_view(b.verb);
    };
    static_assert(std::is_sorted(std::begin(table), std::end(table), by_verb), "keep the table sorted");
    const auto* it = std::lower_bound(std::begin(table), std::end(table), verb,
                                      [](const CommandSpec& spec, std::string_view v) { return spec.verb < v; });
    if (it == std::end(table) || std::string_view(it->verb) != verb) return nullptr;
    return it;
}

}  // namespace ferry::proto
