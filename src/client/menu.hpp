// Getting logged in: the password from stdin/env/terminal, and the original menu
// (1. create user  2. log in  3. quit) when no user was given.
#pragma once
#include "client/options.hpp"
#include "client/session.hpp"

namespace ferry::client {

// --password-stdin (first line of stdin), else $FERRY_PASSWORD, else asked without echo.
std::string obtain_password(const Options& options, const std::string& user);

// Shows the menu until the user is logged in (true) or quits / input ends (false).
bool run_menu(Session& session);

}  // namespace ferry::client
