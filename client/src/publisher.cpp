#include <indexer/client/publisher.hpp>
#include <indexer/kafka/producer.hpp>
#include <indexer/publish/announcement.hpp>
#include <indexer/publish/announcer.hpp>

#include <mutex>

namespace indexer::client {
namespace {

// Beyond librdkafka's own message timeout, after which it has reported every message.
constexpr std::chrono::seconds kReportGrace{10};
constexpr std::size_t kCollectEvery = 1000;

kafka::MessageId to_message_id(const Id& id) {
    return {id.text(), id.is_integer() ? kafka::IdKind::integer : kafka::IdKind::string};
}

std::int64_t seconds_since_epoch() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

PublishError::PublishError(const std::string& what, SendReport report)
    : std::runtime_error(what), report_(std::move(report)) {}

class Publisher::Impl {
public:
    explicit Impl(PublisherOptions options) {
        if (options.topic.empty()) throw PublishError("indexer publisher: the topic is not set");
        if (options.delay_topic.empty()) options.delay_topic = publish::default_delay_topic(options.topic);
        kafka::ClientOptions client{options.brokers, "", options.properties};
        delivery_timeout_ = publish::apply_delivery_timeout(client, options.timeout);
        auto producer = kafka::Producer::create(client);
        if (!producer) throw PublishError("indexer publisher: " + producer.error());
        producer_ = std::move(producer.value());
        announcer_.emplace(
            *producer_, publish::Targets{options.topic, {options.delay_topic}, std::move(options.id_field)});
    }

    const publish::Targets& targets() const { return announcer_->targets(); }

    SendReport send(const std::vector<Id>& ids, publish::Stage stage) {
        std::lock_guard lock(mutex_);
        publish::Announcer& announcer = *announcer_;
        const std::uint64_t acknowledged_before = announcer.acknowledged();
        const std::int64_t created_at = seconds_since_epoch();
        SendReport report;
        const auto take = [&report](std::vector<publish::Failure> failures) {
            for (auto& failure : failures) {
                report.failed.push_back(
                    {std::move(failure.id), std::move(failure.topic), std::move(failure.reason)});
            }
        };
        std::size_t queued = 0;
        for (const Id& id : ids) {
            announcer.queue(to_message_id(id), stage, created_at);
            // Serves delivery reports now and then, so that the bookkeeping of a large call stays small.
            if (++queued % kCollectEvery == 0) take(announcer.collect(std::chrono::milliseconds(0)));
        }
        take(announcer.collect(delivery_timeout_ + kReportGrace));
        report.sent = announcer.acknowledged() - acknowledged_before;
        report.unacknowledged = announcer.in_flight();
        return report;
    }

private:
    std::mutex mutex_;
    std::chrono::milliseconds delivery_timeout_{};
    std::unique_ptr<kafka::Producer> producer_;
    std::optional<publish::Announcer> announcer_;
};

Publisher::Publisher(PublisherOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Publisher::~Publisher() = default;
Publisher::Publisher(Publisher&&) noexcept = default;
Publisher& Publisher::operator=(Publisher&&) noexcept = default;

const std::string& Publisher::topic() const noexcept {
    return impl_->targets().topic;
}

const std::string& Publisher::delay_topic() const noexcept {
    return impl_->targets().delay_topics.front();
}

AnnounceReport Publisher::announce(const std::vector<Id>& ids) {
    AnnounceReport report;
    report.delay = send_delay(ids);
    report.instant = send_instant(ids);
    return report;
}

SendReport Publisher::send_delay(const std::vector<Id>& ids) {
    return impl_->send(ids, publish::Stage::delay);
}

SendReport Publisher::send_instant(const std::vector<Id>& ids) {
    return impl_->send(ids, publish::Stage::instant);
}

void Publisher::throw_delay_failed(SendReport report) {
    std::string what = "indexer publisher: " + std::to_string(report.failed.size() + report.unacknowledged) +
                       " delay message(s) not acknowledged, the update was not run";
    if (!report.failed.empty()) {
        what += "; first: id " + report.failed.front().id + " on " + report.failed.front().topic + ": " +
                report.failed.front().reason;
    }
    throw PublishError(what, std::move(report));
}

}  // namespace indexer::client
