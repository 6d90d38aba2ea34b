package remote_test

import (
	"os"
	"strconv"
)

func uidOf() int        { return os.Getuid() }
func itoa(n int) string { return strconv.Itoa(n) }
