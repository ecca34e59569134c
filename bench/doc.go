// Package bench measures protojwt against the stack Go services commonly
// use for the same job: go-grpc-middleware's auth interceptor, or a
// net/http middleware, with an AuthFunc that verifies the token with
// golang-jwt. Both run in one process on identical servers (gRPC over
// bufconn, net/http over loopback and in memory), so that one run of
// scripts/bench compares them:
//
//	go test -run '^$' -bench . -count 10 . | tee new.txt
//	go tool benchstat -col /stack new.txt
//
// It is a module of its own so that the library does not depend on the
// stack it is compared with.
package bench
