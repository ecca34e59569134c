package methodrules

import (
	"fmt"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// HealthAndReflection returns the services that load balancers and tools
// such as grpcurl call without a token: gRPC health checking and server
// reflection (both versions). grpc-go and connect (grpchealth, grpcreflect)
// serve them under the same names.
func HealthAndReflection() []string {
	return []string{
		"grpc.health.v1.Health",
		"grpc.reflection.v1.ServerReflection",
		"grpc.reflection.v1alpha.ServerReflection",
	}
}

// CheckNames returns an error for each name of o.PublicMethods that is not
// a full method name "/package.Service/Method" and each name of
// o.PublicServices that is not a full service name "package.Service". The
// errors name the adapter's options: methodsOption and servicesOption.
func CheckNames(o Options, methodsOption, servicesOption string) []error {
	var errs []error
	for _, name := range o.PublicMethods {
		if _, _, ok := SplitMethod(name); !ok {
			errs = append(errs, fmt.Errorf("%s: %q is not a full method name \"/package.Service/Method\"", methodsOption, name))
		}
	}
	for _, name := range o.PublicServices {
		if !protoreflect.FullName(name).IsValid() {
			errs = append(errs, fmt.Errorf("%s: %q is not a full service name \"package.Service\"", servicesOption, name))
		}
	}
	return errs
}
