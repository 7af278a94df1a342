package testpeer

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// tcpListen is the state code of a listening socket in /proc/net/tcp.
const tcpListen = "0A"

// portBound reports whether some socket on this machine is bound to local
// port p (UDP) or listens on it (TCP), reading the kernel's socket table so
// that checking never steals the port from the process being started.
func portBound(p int, tcp bool) bool {
	files := []string{"/proc/net/udp", "/proc/net/udp6"}
	if tcp {
		files = []string{"/proc/net/tcp", "/proc/net/tcp6"}
	}
	want := fmt.Sprintf(":%04X", p)
	for _, f := range files {
		if tableHasPort(f, want, tcp) {
			return true
		}
	}
	return false
}

func tableHasPort(path, want string, tcp bool) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || !strings.HasSuffix(fields[1], want) {
			continue
		}
		if !tcp || fields[3] == tcpListen {
			return true
		}
	}
	return false
}

func itoa(n int) string { return strconv.Itoa(n) }
