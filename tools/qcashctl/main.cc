// qcashctl: the operator's command line for Qcash.
//
//   qcashctl health <host:port> [service]   exit 0 when the server answers SERVING
//   qcashctl audit [wallet-database-url]    run the ledger audit (default
//                                           $QCASH_WALLET_DATABASE_URL); exit 1 if unsound
//
// Transport: mTLS with the operator's certificate from QCASHCTL_TLS_CERT, QCASHCTL_TLS_KEY and
// QCASHCTL_TLS_CA; plaintext (development) when they are unset.
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "common/config.h"
#include "common/pg.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "services/wallet/audit.h"

namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::shared_ptr<grpc::ChannelCredentials> Credentials() {
  if (qcash::EnvString("QCASHCTL_TLS_CERT", "").empty()) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ReadFile(qcash::EnvString("QCASHCTL_TLS_CA", ""));
  options.pem_private_key = ReadFile(qcash::EnvString("QCASHCTL_TLS_KEY", ""));
  options.pem_cert_chain = ReadFile(qcash::EnvString("QCASHCTL_TLS_CERT", ""));
  return grpc::SslCredentials(options);
}

int Health(const std::string& address, const std::string& service) {
  auto stub = grpc::health::v1::Health::NewStub(grpc::CreateChannel(address, Credentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = stub->Check(&context, request, &response);
  if (!status.ok()) {
    std::fprintf(stderr, "%s: %s\n", address.c_str(), status.error_message().c_str());
    return 1;
  }
  const bool serving = response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
  std::printf("%s: %s\n", address.c_str(), serving ? "SERVING" : "NOT_SERVING");
  return serving ? 0 : 1;
}

int Audit(const std::string& url) {
  if (url.empty()) {
    std::fprintf(stderr, "qcashctl audit: no database URL (argument or QCASH_WALLET_DATABASE_URL)\n");
    return 2;
  }
  auto conn = qcash::PgConnection::Connect(url, "qcashctl");
  if (!conn.ok()) {
    std::fprintf(stderr, "%s\n", conn.status().ToString().c_str());
    return 2;
  }
  auto report = qcash::wallet::AuditLedger(**conn);
  if (!report.ok()) {
    std::fprintf(stderr, "%s\n", report.status().ToString().c_str());
    return 2;
  }
  std::fputs(report->ToString().c_str(), stdout);
  return report->ok() ? 0 : 1;
}

void Usage() {
  std::fputs(
      "usage:\n"
      "  qcashctl health <host:port> [service]\n"
      "  qcashctl audit [wallet-database-url]\n",
      stderr);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    Usage();
    return 2;
  }
  const std::string command = argv[1];
  if (command == "health" && argc >= 3) return Health(argv[2], argc >= 4 ? argv[3] : "");
  if (command == "audit") {
    return Audit(argc >= 3 ? argv[2] : qcash::EnvString("QCASH_WALLET_DATABASE_URL", ""));
  }
  Usage();
  return 2;
}
