// The command table: which handler answers which verb, and what it needs first.
#include "proto/session.hpp"

#include <algorithm>
#include <iterator>
#include <string_view>

namespace ferry::proto {

const Session::CommandSpec* Session::find_command(std::string_view verb) {
    // Sorted by verb for the binary search.
    static constexpr CommandSpec table[] = {
        {"ABOR", &Session::cmd_abor, Access::logged_in, Argument::optional},
        {"ACCT", &Session::cmd_acct, Access::anyone, Argument::optional},
        {"ALLO", &Session::cmd_allo, Access::logged_in, Argument::required},
        {"APPE", &Session::cmd_appe, Access::logged_in, Argument::required},
        {"AUTH", &Session::cmd_auth, Access::anyone, Argument::required},
        {"AVBL", &Session::cmd_avbl, Access::logged_in, Argument::optional},
        {"CCC", &Session::cmd_ccc, Access::anyone, Argument::optional},
        {"CDUP", &Session::cmd_cdup, Access::logged_in, Argument::optional},
        {"CWD", &Session::cmd_cwd, Access::logged_in, Argument::required},
        {"DELE", &Session::cmd_dele, Access::logged_in, Argument::required},
        {"EPRT", &Session::cmd_eprt, Access::logged_in, Argument::required},
        {"EPSV", &Session::cmd_epsv, Access::logged_in, Argument::optional},
        {"FEAT", &Session::cmd_feat, Access::anyone, Argument::optional},
        {"HASH", &Session::cmd_hash, Access::logged_in, Argument::required},
        {"HELP", &Session::cmd_help, Access::anyone, Argument::optional},
        {"LIST", &Session::cmd_list, Access::logged_in, Argument::optional},
        {"MDTM", &Session::cmd_mdtm, Access::logged_in, Argument::required},
        {"MFMT", &Session::cmd_mfmt, Access::logged_in, Argument::required},
        {"MKD", &Session::cmd_mkd, Access::logged_in, Argument::required},
        {"MLSD", &Session::cmd_mlsd, Access::logged_in, Argument::optional},
        {"MLST", &Session::cmd_mlst, Access::logged_in, Argument::optional},
        {"MODE", &Session::cmd_mode, Access::anyone, Argument::required},
        {"NLST", &Session::cmd_nlst, Access::logged_in, Argument::optional},
        {"NOOP", &Session::cmd_noop, Access::anyone, Argument::optional},
        {"OPTS", &Session::cmd_opts, Access::anyone, Argument::required},
        {"PASS", &Session::cmd_pass, Access::anyone, Argument::optional},
        {"PASV", &Session::cmd_pasv, Access::logged_in, Argument::optional},
        {"PBSZ", &Session::cmd_pbsz, Access::anyone, Argument::required},
        {"PORT", &Session::cmd_port, Access::logged_in, Argument::required},
        {"PROT", &Session::cmd_prot, Access::anyone, Argument::required},
        {"PWD", &Session::cmd_pwd, Access::logged_in, Argument::optional},
        {"QUIT", &Session::cmd_quit, Access::anyone, Argument::optional},
        {"RANG", &Session::cmd_rang, Access::logged_in, Argument::required},
        {"REIN", &Session::cmd_rein, Access::anyone, Argument::optional},
        {"REST", &Session::cmd_rest, Access::logged_in, Argument::required},
        {"RETR", &Session::cmd_retr, Access::logged_in, Argument::required},
        {"RMD", &Session::cmd_rmd, Access::logged_in, Argument::required},
        {"RNFR", &Session::cmd_rnfr, Access::logged_in, Argument::required},
        {"RNTO", &Session::cmd_rnto, Access::logged_in, Argument::required},
        {"SITE", &Session::cmd_site, Access::anyone, Argument::required},
        {"SIZE", &Session::cmd_size, Access::logged_in, Argument::required},
        {"STAT", &Session::cmd_stat, Access::anyone, Argument::optional},
        {"STOR", &Session::cmd_stor, Access::logged_in, Argument::required},
        {"STOU", &Session::cmd_stou, Access::logged_in, Argument::optional},
        {"STRU", &Session::cmd_stru, Access::anyone, Argument::required},
        {"SYST", &Session::cmd_syst, Access::anyone, Argument::optional},
        {"TYPE", &Session::cmd_type, Access::anyone, Argument::required},
        {"USER", &Session::cmd_user, Access::anyone, Argument::required},
        {"XCRC", &Session::cmd_xcrc, Access::logged_in, Argument::required},
        {"XCUP", &Session::cmd_cdup, Access::logged_in, Argument::optional},
        {"XCWD", &Session::cmd_cwd, Access::logged_in, Argument::required},
        {"XMD5", &Session::cmd_xmd5, Access::logged_in, Argument::required},
        {"XMKD", &Session::cmd_mkd, Access::logged_in, Argument::required},
        {"XPWD", &Session::cmd_pwd, Access::logged_in, Argument::optional},
        {"XRMD", &Session::cmd_rmd, Access::logged_in, Argument::required},
        {"XSHA1", &Session::cmd_xsha1, Access::logged_in, Argument::required},
        {"XSHA256", &Session::cmd_xsha256, Access::logged_in, Argument::required},
        {"XSHA512", &Session::cmd_xsha512, Access::logged_in, Argument::required},
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
