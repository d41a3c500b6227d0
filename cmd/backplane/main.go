// Command backplane designs, renders and runs a backend on HashiCorp Nomad.
package main

import "os"

func main() { os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }
