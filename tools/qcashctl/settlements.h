// qcashctl settlements ...: the operators' side of settlement reconciliation (issue 16,
// DESIGN.md section 9), over the payment service's ops RPCs.
//
//   settlements import <provider> <file>        import a provider's settlement report (CSV);
//                                               the same file again changes nothing
//   settlements mismatches [--provider P] [--all] [--format text|csv|html]
//                                               open mismatches (--all: resolved ones too),
//                                               oldest first, with their age; html is the
//                                               operators' page, self-contained, on stdout
//   settlements resolve <id> --operator WHO --reason WHY
//                                               close one, recorded with who and why
//   settlements summary <from YYYY-MM-DD> <to YYYY-MM-DD>
//                                               per provider: paid, settled, fees, net,
//                                               unsettled, taken back, open mismatches
#ifndef QCASH_TOOLS_QCASHCTL_SETTLEMENTS_H_
#define QCASH_TOOLS_QCASHCTL_SETTLEMENTS_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

namespace qcash::qcashctl {

// `args` are the words after "settlements". Returns the exit status: 0 done, 1 refused or
// failed (the reason on stderr), 2 usage.
int Settlements(const std::vector<std::string>& args, std::shared_ptr<grpc::Channel> payment);

// The usage lines of these commands.
const char* SettlementsUsage();

}  // namespace qcash::qcashctl

#endif  // QCASH_TOOLS_QCASHCTL_SETTLEMENTS_H_
