//go:build !unix

package main

import "time"

func cpuTime() time.Duration { return 0 }
func peakRSS() int64         { return 0 }
func resetPeakRSS()          {}

func procPeakRSS(string) int64      { return 0 }
func procCPUTime(int) time.Duration { return 0 }
