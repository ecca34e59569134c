// Package otelprotojwt records what protojwt decides and does as
// OpenTelemetry metrics and span events. It is a module of its own, so that
// services without OpenTelemetry don't link it.
//
//	tel, err := otelprotojwt.New() // options: WithMeterProvider, WithRoutes, WithResolver, WithMethods
//	m, err := manager.New(cfg, manager.WithEvents(tel.ManagerEvents()))
//	defer tel.ObserveCache(m)()
//	auth, err := interceptor.New(m, interceptor.WithDecisionHook(tel.DecisionHook()))
//	guard := httpauth.New(m, httpauth.WithDecisionHook(tel.DecisionHook()))
//
// # Metrics
//
// Every instrument belongs to the meter of scope [ScopeName].
//
//	protojwt.decisions             counter        {decision}      rpc.method | http.route, http.request.method;
//	                                                              protojwt.outcome, protojwt.reason, protojwt.stage
//	protojwt.decision.duration     histogram      s               the same attributes
//	protojwt.jwks.fetches          counter        {fetch}         protojwt.result: success, failure
//	protojwt.jwks.fetch.duration   histogram      s               protojwt.result
//	protojwt.jwks.keys             gauge          {key}           keys of the set last fetched
//	protojwt.discovery.reads       counter        {read}          protojwt.result: success, failure
//	protojwt.discovery.duration    histogram      s               protojwt.result
//	protojwt.revocation.calls      counter        {call}          protojwt.result: success, failure, canceled
//	protojwt.revocation.failures   counter        {call}          outages: failures, not cancellations
//	protojwt.revocation.duration   histogram      s               protojwt.result
//	protojwt.cache.hits            counter (obs.) {verification}  read from Manager.CacheStats
//	protojwt.cache.misses          counter (obs.) {verification}
//	protojwt.cache.evictions       counter (obs.) {token}
//	protojwt.cache.size            updown (obs.)  {token}
//
// The first two come from DecisionHook, the JWK Set and revocation ones
// from ManagerEvents ([manager.WithEvents]), the cache ones from
// ObserveCache, which reads the counts the Manager keeps anyway: the cache
// costs Verify nothing more to observe.
//
// protojwt.outcome is "allowed", "denied" or "would_deny": a decision of
// dry run (a rule's dry_run, an adapter's WithDryRun) that let the call on
// and that enforcing would have denied ([protojwt.Decision.DryRun] with a
// Reason), so that watching a dry run is one query and its would-be
// denials never count as allowed nor as denied. protojwt.reason, on
// denials and would-be denials only, is one of the Reason* constants of
// package protojwt ("_OTHER" for any other); protojwt.stage is "call" when a call opens and "message" for
// the check of a received stream message. Public calls count as allowed
// decisions of duration zero.
//
// # Cardinality
//
// No attribute holds a subject, a token ID, a claim or a request path. A
// gRPC or connect method is recorded by name (rpc.method
// "pkg.Service/Method", as OpenTelemetry's semantic conventions write it)
// only when it is recognized: a method of a service in the resolver
// ([protoregistry.GlobalFiles] by default, see [WithResolver]) or named by
// [WithMethods]. Any other method name, which the caller chooses, is
// recorded as rpc.method "_OTHER", as the conventions require, so that
// probing a server with made-up names makes one series, not one per name.
// An HTTP route is recorded by name only when [WithRoutes] lists its
// ServeMux pattern: httpauth names a request served without a pattern by
// its path, which must not become an attribute, and the two can't be told
// apart. A route not listed is recorded without http.route.
// http.request.method is the method of the route's pattern ("GET
// /users/{id}"), absent when the pattern has none.
//
// The attribute set of each recognized procedure, outcome, reason and
// stage is built once and kept: the warm path of the hook allocates
// nothing of its own.
//
// # Span events
//
// When the context of a decision carries a recording span (the server
// span of OpenTelemetry's gRPC, connect or HTTP instrumentation), the hook
// adds an event "protojwt.decision" to it with the attributes of the
// decision's metrics. Never a claim: the span is exported with the call.
//
// # Audit
//
// For a log of who was refused, with subject and token ID, use the
// decision hook of package github.com/protojwt/protojwt/audit beside this
// one: logs may name callers, metrics must not.
package otelprotojwt
