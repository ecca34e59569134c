package annotations_test

import (
	"fmt"
	"log"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protojwt/protojwt/annotations"
)

// A rule set gives rules to services whose .proto carries none, here gRPC
// health checking; the adapters take it with WithRuleSet, and
// EffectiveRuleIn resolves a method's rule from both sources as they do.
func ExampleEffectiveRuleIn() {
	set, err := annotations.ParseRuleSet([]byte(`
		services {
		  key: "grpc.health.v1.Health"
		  value { scopes: "health:read" dry_run: true }
		}
		methods {
		  key: "/grpc.health.v1.Health/Watch"
		  value { public: true }
		}`))
	if err != nil {
		log.Fatal(err)
	}
	methods := healthpb.File_grpc_health_v1_health_proto.Services().ByName("Health").Methods()
	for _, name := range []string{"Check", "Watch"} {
		rule, source, err := annotations.EffectiveRuleIn(methods.ByName(protoreflect.Name(name)), set)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(name, source, rule.GetScopes(), rule.GetPublic(), rule.GetDryRun())
	}
	// Output:
	// Check rule_set_service [health:read] false true
	// Watch rule_set_method [] true false
}
