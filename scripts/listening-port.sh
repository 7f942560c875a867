# Sourced by test-kafka.sh and bench/lib.sh (bash).
#
# listening_port PID: prints the TCP port PID listens on at 127.0.0.1, as the
# kernel tells it: PID's socket inodes (/proc/PID/fd) matched against the
# LISTEN entries (state 0A) of /proc/PID/net/tcp. Fails while there is none.
# (0100007F is 127.0.0.1 as the kernel prints it on a little-endian machine.)
listening_port() {
    local pid=$1 fd link inodes=" " hex
    for fd in /proc/"$pid"/fd/*; do
        link=$(readlink "$fd" 2>/dev/null) || continue
        case $link in socket:\[*\]) inodes+="${link:8:${#link}-9} " ;; esac
    done
    hex=$(awk -v inodes="$inodes" 'NR > 1 && $4 == "0A" && index(inodes, " " $10 " ") {
              split($2, a, ":"); if (a[1] == "0100007F") { print a[2]; exit } }' \
        /proc/"$pid"/net/tcp 2>/dev/null)
    [ -n "$hex" ] && echo $((16#$hex))
}
