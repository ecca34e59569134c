// Package annotations holds the Go code generated from
// protojwt/v1/annotations.proto: the (protojwt.v1.rule) method option, the
// (protojwt.v1.default_rule) service option and their Rule and Match
// messages, plus [MethodRule] and [ServiceDefaultRule], which read those options
// from descriptors however they were built.
//
// Import the proto file in your own .proto files and annotate methods:
//
//	import "protojwt/v1/annotations.proto";
//
//	rpc GetUser(GetUserRequest) returns (User) {
//	  option (protojwt.v1.rule) = {
//	    claims: { key: "sub" value: { field: "username" } }
//	  };
//	}
//
// The interceptor package compiles these rules when a server is built.
//
// For services whose .proto you can't annotate (googleapis, third-party or
// generated services), the same rules come from a rule set file, the text
// format of protojwt.v1.RuleSet, read with [ReadRuleSet] and given to an
// adapter with WithRuleSet. [EffectiveRuleIn] resolves a method's rule from
// both sources, refusing a method that has a rule in each.
package annotations
