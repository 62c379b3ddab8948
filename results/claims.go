package results

// The AISP paper's claims, in one place. They are the paper's
// unverified claims: no public code or data backs them, and the harness
// never copies them into a result. Tables show them beside the measured
// numbers, labelled as claims, so a reader can compare. Do not add a
// claim here that the paper does not make.

// ClaimRetentionImprovement is the paper's claimed long-term retention
// improvement from sleep, in percent, (sleep − no-sleep) / no-sleep × 100.
// The paper gives it for all models together, not per model.
const ClaimRetentionImprovement = 23.0

// ClaimForgettingAverage returns the paper's claimed average forgetting
// (percent, across the five domains) of the method playing role (see
// MethodInfo.Role), and whether the paper claims one: baseline 66%, EWC
// 47%, replay 37%, AISP 21%.
func ClaimForgettingAverage(role string) (float64, bool) {
	switch role {
	case RoleBaseline:
		return 66, true
	case RoleEWC:
		return 47, true
	case RoleReplay:
		return 37, true
	case RoleSleep:
		return 21, true
	}
	return 0, false
}
