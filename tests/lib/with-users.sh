#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# with-users.sh CMD...: runs CMD in a private mount namespace where
# $LAB_USERS_DIR/passwd and $LAB_USERS_DIR/group are /etc/passwd and
# /etc/group.  A test's own users and groups exist there only: the bus
# (LAB_BUS_PREFIX) and the test's clients see them, the host never does,
# and nothing is left to remove if the test dies.
set -eu
: "${LAB_USERS_DIR:?}"
# shellcheck disable=SC2016 # expanded by the inner sh, in the namespace
exec unshare --mount --propagation private sh -c \
    'mount --bind "$0/passwd" /etc/passwd && mount --bind "$0/group" /etc/group && exec "$@"' \
    "$LAB_USERS_DIR" "$@"
