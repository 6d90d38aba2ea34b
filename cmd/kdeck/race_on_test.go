//go:build race

package main

// raceEnabled builds the binary of whole-process tests with -race too.
const raceEnabled = true
