"""Every figure of the metrics report, defined once: name, formula, meaning, levers.

`DEFINITIONS` is the single source: the report's fields carry these descriptions,
the reference page (``docs/reference/metrics.md``) is generated from it by
`definitions_markdown`, and a test checks that the two never drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

import attrs

__all__ = ["DEFINITIONS", "Definition", "definitions_markdown"]

#: ``rate``: a share, always in [0, 1] (or None); ``ratio``: a quotient with no upper
#: bound (K-factor, ROI); ``counts``: a count per reason code.
Unit = Literal["count", "rate", "ratio", "money", "duration", "counts"]
Scope = Literal["program", "currency", "moment", "source"]

_LABELS = {
    "moment_decisions": "asked",
    "moment_invitations": "invited",
    "moment_invite_rate": "invite rate",
    "moment_shares": "shared",
    "moment_share_rate": "share rate",
    "moment_friends": "friends joined",
    "referrals_per_invite": "friends per invitation",
    "moment_orders": "friends who ordered",
    "moment_conversion_rate": "order rate of friends",
    "group_k_factor": "group k-factor",
    "click_to_signup_rate": "click-to-sign-up rate",
    "k_factor": "k-factor",
    "first_order_rate": "first-order rate",
    "cac": "CAC",
    "roi": "ROI",
    "ltv": "LTV",
    "source_clicks": "clicks",
    "signups": "sign-ups",
    "source_orders": "orders",
    "net_revenue": "revenue",
    "total_cost": "total cost",
    "cpa": "CAC",
    "source_roi": "ROI",
    "source_conversion_rate": "new customers per click",
    "acquired_repeat_customers": "repeat customers",
    "acquired_repeat_rate": "repeat-purchase rate",
    "revenue_90d_per_customer": "90-day revenue per customer",
    "cpm": "cost per 1,000 impressions",
    "orders_per_mille": "orders per 1,000 impressions",
}
_UNITS = {
    "count": "count",
    "rate": "rate, 0-1",
    "ratio": "ratio",
    "money": "money",
    "duration": "duration",
    "counts": "count per reason",
}


_WHERE = {
    "program": "",
    "currency": " (per currency)",
    "moment": " (per moment type)",
    "source": " (per programme, partner and post)",
}


def _label(definition: Definition) -> str:
    return _LABELS.get(definition.name, definition.name.replace("_", " "))


@attrs.frozen(slots=True)
class Definition:
    """One figure: how it is computed, what it means, and what moves it.

    ``label`` is the figure's name for people, the same in the text report, on the
    HTML page's cards, charts and tables, and in the demo.
    """

    name: str
    formula: str
    meaning: str
    moves: str
    unit: Unit
    scope: Scope = "program"
    label: str = attrs.field(default=attrs.Factory(_label, takes_self=True))


_ALL = (
    Definition(
        "enrolled",
        "customers who own a code created before `until` (partners' codes are not"
        " customers': partners are measured in the programme comparison)",
        "How many customers could refer someone.",
        "Enrolling customers automatically (after their first order, at sign-up).",
        "count",
    ),
    Definition(
        "participants",
        "enrolled customers whose codes got at least one click or non-rejected referral"
        " in the window",
        "How many customers actually shared.",
        "Share prompts at the right moment (order confirmation), one-step share buttons.",
        "count",
    ),
    Definition(
        "participation_rate",
        "participants / (active_customers if given, else enrolled); active_customers"
        " below participants is refused",
        "The share of your customers who take part.",
        "Visibility of the programme, reward size for the referrer.",
        "rate",
    ),
    Definition(
        "clicks",
        "tracked clicks (`track_click`) in the window on customers' codes (not on a partner's)",
        "Traffic the referral links bring.",
        "Number of shares, the channel chosen, the message shown with the link.",
        "count",
    ),
    Definition(
        "referrals",
        "non-rejected referrals attributed in the window with a customer's code (a"
        " sign-up with a partner's code or link is the partner programme's)",
        "Referees attributed to a referrer (pending, qualified or in review).",
        "Sharing, the landing page, the referee's incentive, the attribution window.",
        "count",
    ),
    Definition(
        "converted",
        "referrals with at least one order placed before `until` and not refunded in full",
        "Referees who became paying customers (a refund in full takes it back).",
        "The referee reward, first-order incentives, checkout friction.",
        "count",
    ),
    Definition(
        "conversion_rate",
        "converted / referrals",
        "How many attributed referees buy.",
        "Referee incentive, product fit of the referred audience.",
        "rate",
    ),
    Definition(
        "click_to_signup_rate",
        "min(referrals, clicks) / clicks (None when no clicks are tracked): an upper"
        " bound on the share of clicks followed by a sign-up, since referrals by typed"
        " code have no click and the store does not record which referrals followed one",
        "How well the landing page turns referral traffic into sign-ups (at most).",
        "Landing page, sign-up friction, showing the friend's name and the offer.",
        "rate",
    ),
    Definition(
        "invites_per_participant",
        "referrals / participants",
        "How many friends each sharing customer brings in.",
        "Tiers and milestones that reward the next referral, share reminders.",
        "ratio",
    ),
    Definition(
        "k_factor",
        "converted / (active_customers if given, else enrolled)",
        "New paying customers each customer brings (viral coefficient); above 1 the"
        " programme grows on its own.",
        "Everything above: participation x invites x conversion.",
        "ratio",
    ),
    Definition(
        "viral_cycle_time",
        "median over referrers of (first order of their first converted referee -"
        " the referrer's enrolment)",
        "How long one turn of the referral loop takes.",
        "Prompting to share right after a purchase, time-limited referee offers.",
        "duration",
    ),
    Definition(
        "first_order_rate",
        "converted / referrals",
        "Referred customers who place a first order.",
        "First-order incentives for the referee.",
        "rate",
    ),
    Definition(
        "repeat_customers",
        "converted referees with two or more orders not refunded in full",
        "Referred customers who came back.",
        "Recurring rewards, product quality, follow-up offers.",
        "count",
    ),
    Definition(
        "repeat_purchase_rate",
        "repeat_customers / converted",
        "Whether referred customers stay.",
        "Recurring rewards, product quality, follow-up offers.",
        "rate",
    ),
    Definition(
        "attributions",
        "every referral attributed in the window with a customer's code, whatever its status",
        "All attempts, honest or not.",
        "Traffic, and fraud attempts.",
        "count",
    ),
    Definition(
        "rejected",
        "referrals attributed in the window and rejected",
        "Attempts refused by a rule, a guard or a reviewer.",
        "Guards and their thresholds; how attractive the reward is to cheaters.",
        "count",
    ),
    Definition(
        "fraud_rate",
        "rejected / attributions",
        "The share of attributions refused.",
        "Guards, reward size, codes posted on coupon sites.",
        "rate",
    ),
    Definition(
        "fraud_reasons",
        "per reason code (`self_referral.email`, ...): rejected attributions citing it",
        "Why attributions are refused.",
        "The guards configured and what cheaters try.",
        "counts",
    ),
    Definition(
        "review_backlog",
        "referrals attributed in the window still waiting in review",
        "Work waiting for a person.",
        "Review thresholds of guards, reviewers' pace.",
        "count",
    ),
    Definition(
        "reward_points",
        "points of rewards not reversed",
        "Points granted (not money, so not in rewards_cost).",
        "Points policies.",
        "count",
    ),
    Definition(
        "orders",
        "orders of referred customers (non-rejected referrals) placed before `until`",
        "Orders the programme brought.",
        "Conversion and repeat purchases.",
        "count",
        "currency",
    ),
    Definition(
        "referred_revenue",
        "referees' order amounts less refunds",
        "Revenue the programme brought.",
        "Conversion, order value, repeat purchases, refunds.",
        "money",
        "currency",
    ),
    Definition(
        "refunded",
        "refunds on referees' orders",
        "Revenue given back.",
        "Product quality; fraud that gets past the guards.",
        "money",
        "currency",
    ),
    Definition(
        "rewards_cost",
        "value of rewards granted under the window's referrals before `until` and not"
        " reversed (a paid one in full, a reversed one what it had paid out), less the"
        " clawbacks recovered (settled or netted)",
        "What the programme costs in rewards (held, available or paid), net of recoveries.",
        "The reward policy, caps and budgets, refunds that reverse rewards, clawback collection.",
        "money",
        "currency",
    ),
    Definition(
        "cac",
        "rewards_cost / converted",
        "Customer acquisition cost: reward spend per new paying customer.",
        "Reward size against conversion: first-order-only rewards, caps, budgets.",
        "money",
        "currency",
    ),
    Definition(
        "roi",
        "(referred_revenue - rewards_cost) / rewards_cost",
        "Return on the reward spend: what it brought back, net of itself, per unit spent"
        " (printed as a percentage; a ratio of two amounts in one currency, not money).",
        "Reward size, order value, repeat purchases.",
        "ratio",
        "currency",
    ),
    Definition(
        "average_order_value",
        "(referred_revenue + refunded) / orders",
        "The average referred order, before refunds.",
        "Minimum order conditions, percentage rewards, the referred audience.",
        "money",
        "currency",
    ),
    Definition(
        "ltv",
        "referred_revenue / converted",
        "Revenue per referred paying customer so far (lifetime value to date).",
        "Repeat purchases, order value, refunds.",
        "money",
        "currency",
    ),
)

_GROUPS = (
    Definition(
        "groups_started",
        "group-buys started (any state)",
        "How many customers started a group-buy.",
        "A visible 'start a group' offer, a group price worth sharing.",
        "count",
    ),
    Definition(
        "groups_completed",
        "group-buys that filled before their deadline",
        "Groups whose every member was rewarded.",
        "Smaller groups, longer deadlines, one-step sharing of the group link.",
        "count",
    ),
    Definition(
        "groups_expired",
        "group-buys past their deadline without filling",
        "Groups that rewarded nobody.",
        "Smaller groups, longer deadlines, reminders before the deadline.",
        "count",
    ),
    Definition(
        "group_fill_rate",
        "groups_completed / (groups_completed + groups_expired)",
        "The share of decided groups that filled (cancelled and open groups left out).",
        "Group size, deadline, the group price's pull.",
        "rate",
    ),
    Definition(
        "median_time_to_fill",
        "median of (completed_at - started_at) over completed groups",
        "How fast a group that fills, fills: the deadline should leave room above it.",
        "Share prompts at start, reminders, the group price.",
        "duration",
    ),
    Definition(
        "members_per_group",
        "places taken (initiators included) / groups_started",
        "How full groups get on average, completed or not.",
        "Group size, deadline, sharing.",
        "ratio",
    ),
    Definition(
        "new_customers_per_group",
        "members whose joining brought them in (a new referral to the initiator) / groups_started",
        "Customers acquired per group started.",
        "Restricting groups to new customers, the group price for newcomers.",
        "ratio",
    ),
    Definition(
        "group_k_factor",
        "new customers brought by groups / distinct initiators",
        "New customers each initiator brought through group-buys (above 1: groups grow"
        " by themselves).",
        "Group size, fill rate, and how many groups each customer starts.",
        "ratio",
    ),
)

_INVITATIONS = (
    Definition(
        "invitations_issued",
        "invitations issued in the window",
        "How many invitations members (and admitted waitlisters) were given.",
        "Per-holder quotas, admitting from the waitlist.",
        "count",
    ),
    Definition(
        "invitation_uses",
        "sign-ups those invitations allow in all (their uses)",
        "The room the launch handed out.",
        "Uses per invitation, quotas.",
        "count",
    ),
    Definition(
        "invitations_redeemed",
        "uses taken: new customers who signed up with one of those invitations",
        "New customers the invitations brought.",
        "Who gets invitations, expiry, a sign-up that needs nothing else.",
        "count",
    ),
    Definition(
        "invitation_conversion_rate",
        "invitations_redeemed / invitation_uses",
        "The share of the room handed out that was taken.",
        "Giving invitations to engaged members, a longer expiry, a one-step sign-up.",
        "rate",
    ),
    Definition(
        "waitlist_joined",
        "people who ever joined the waitlist (as it stands at the report)",
        "The demand the launch could not serve at once.",
        "The launch's pull; the waitlist page's share prompt.",
        "count",
    ),
    Definition(
        "waitlist_size",
        "people still waiting",
        "The backlog to admit.",
        "Admitting in bigger or more frequent batches.",
        "count",
    ),
    Definition(
        "waitlist_admitted",
        "people admitted from the waitlist",
        "How much of the demand the shop let in.",
        "The admit batches.",
        "count",
    ),
    Definition(
        "waitlist_referred_joins",
        "joins through a waitlister's code the guards accepted",
        "People the waitlist's own referrals brought.",
        "Places per referral, the waitlist code's visibility.",
        "count",
    ),
    Definition(
        "waitlist_places_gained",
        "places those referrals moved their referrers up, in all",
        "How much referring moved the queue.",
        "Places per referral.",
        "count",
    ),
)

_MOMENTS = (
    Definition(
        "moment_decisions",
        "should_invite answers given for the moment type",
        "How often the host asked whether to invite at this moment.",
        "Reporting more moments (delivery, reviews, repeat orders).",
        "count",
        "moment",
    ),
    Definition(
        "moment_invitations",
        "answers that said invite",
        "Invitations shown at this moment.",
        "The moment rules: cool-down, per-period cap, minimum score.",
        "count",
        "moment",
    ),
    Definition(
        "moment_invite_rate",
        "moment_invitations / moment_decisions",
        "The share of asks the rules let through.",
        "Cool-down, per-period cap, the refund and low-score rules.",
        "rate",
        "moment",
    ),
    Definition(
        "moment_shares",
        "invitations the host reported shared",
        "Invitations a customer acted on.",
        "Fewer steps to share, the offer's wording, asking when satisfaction is high.",
        "count",
        "moment",
    ),
    Definition(
        "moment_share_rate",
        "moment_shares / moment_invitations",
        "The share of invitations shown that the customer shared.",
        "The moment chosen, the share sheet, the offer.",
        "rate",
        "moment",
    ),
    Definition(
        "moment_friends",
        "friends joined (not rejected) credited to the referrer's latest invitation before"
        " they joined, within the follow window",
        "Referrals this moment produced.",
        "Asking at the moments that work (the learning option finds them).",
        "count",
        "moment",
    ),
    Definition(
        "referrals_per_invite",
        "moment_friends / moment_invitations",
        "Friends brought per invitation shown: the moment's yield.",
        "The moment type; compare rows to pick the moments to ask at.",
        "ratio",
        "moment",
    ),
    Definition(
        "moment_orders",
        "of moment_friends, those who placed an order",
        "Customers this moment produced.",
        "The friend's offer and first experience.",
        "count",
        "moment",
    ),
    Definition(
        "moment_conversion_rate",
        "moment_orders / moment_friends",
        "The share of friends from this moment who ordered.",
        "The friend's offer, the landing page.",
        "rate",
        "moment",
    ),
)

# The programme comparison (``MetricsReport.programmes``): per programme, audience band
# and region, per partner and per post. Sources and acquisition: see
# `referralkit.metrics._programme_facts`. Money figures are per currency.
_PROGRAMMES = (
    Definition(
        "partners",
        "partners in the row (a programme's, a band's or a region's)",
        "How many partners the row's figures come from.",
        "Recruiting partners; ending the ones that do not pay back.",
        "count",
        "source",
    ),
    Definition(
        "source_clicks",
        "clicks in the window on the source's codes and links",
        "How much traffic the source sent.",
        "Reach of the posts, placement of the link, the offer.",
        "count",
        "source",
    ),
    Definition(
        "signups",
        "referrals (not rejected) attributed in the window with the source's codes",
        "Sign-ups the source brought.",
        "The landing page, the sign-up offer.",
        "count",
        "source",
    ),
    Definition(
        "source_orders",
        "orders placed in the window attributed to the source (a partner's code typed at"
        " checkout, else the buyer's referral)",
        "Orders the source can claim, new and returning buyers alike.",
        "The discount, the code's reach, the audience's fit.",
        "count",
        "source",
    ),
    Definition(
        "new_customers",
        "first orders placed in the window attributed to the source",
        "Customers the source acquired: each counts once, for the source of their first order.",
        "Reaching people who have not bought yet; a first-order offer.",
        "count",
        "source",
    ),
    Definition(
        "net_revenue",
        "the source's orders in the window, less refunds",
        "What the source's orders brought in.",
        "Order value, refunds, the audience's fit.",
        "money",
        "source",
    ),
    Definition(
        "commission",
        "what the rewards granted in the window on the source's orders and sign-ups cost"
        " (a reversed one's clawback), less recoveries",
        "The variable cost: commissions, friends' rewards, buyers' discounts.",
        "The commission terms and the referral policy.",
        "money",
        "source",
    ),
    Definition(
        "fees",
        "what a partner's fees granted in the window cost (per post, per campaign,"
        " bounties), less recoveries",
        "The fixed cost, paid whatever the posts sell.",
        "Negotiating fees; paying per result instead.",
        "money",
        "source",
    ),
    Definition(
        "total_cost",
        "commission + fees",
        "Everything the source cost in the window.",
        "Terms and fees.",
        "money",
        "source",
    ),
    Definition(
        "cpa",
        "total_cost / new_customers",
        "Cost per acquisition (CAC): what one new customer cost through this source.",
        "Lower fees and commissions, more first orders per post.",
        "money",
        "source",
    ),
    Definition(
        "source_roi",
        "(net_revenue - total_cost) / total_cost",
        "Return on what the source cost (0.5: 50 % more came in than went out).",
        "Cost down, order value and repeat orders up.",
        "ratio",
        "source",
    ),
    Definition(
        "source_conversion_rate",
        "new_customers / source_clicks",
        "New customers per click: clicks are the step every programme shares (a buyer who"
        " types a partner's code may never click), so it can pass 1.",
        "The landing page, the offer, the audience's fit.",
        "ratio",
        "source",
    ),
    Definition(
        "acquired_repeat_customers",
        "of new_customers, those with two or more orders not refunded in full by `until`",
        "Acquired customers who came back.",
        "The product, follow-up offers, the audience's fit.",
        "count",
        "source",
    ),
    Definition(
        "acquired_repeat_rate",
        "acquired_repeat_customers / new_customers",
        "The share of acquired customers who ordered again: bargain hunters rarely do.",
        "The audience's fit, a first-order offer that is not too rich.",
        "rate",
        "source",
    ),
    Definition(
        "revenue_90d_per_customer",
        "what new_customers spent within 90 days of their first order (before `until`),"
        " less refunds, / new_customers",
        "Early value of an acquired customer, to set against the CAC.",
        "The audience's fit, repeat purchases.",
        "money",
        "source",
    ),
    Definition(
        "impressions",
        "impressions of the partner's posts made in the window, from each post's latest"
        " report before `until`",
        "How many times the posts were seen.",
        "Audience size, the platform's reach.",
        "count",
        "source",
    ),
    Definition(
        "engagements",
        "engagements (likes, comments, shares, saves) in the same reports",
        "How many times the posts were acted on.",
        "The content, the audience's interest.",
        "count",
        "source",
    ),
    Definition(
        "engagement_rate",
        "engagements / impressions",
        "How engaged the audience is; small, niche audiences often score higher.",
        "The content, the audience's fit.",
        "ratio",
        "source",
    ),
    Definition(
        "cpm",
        "total_cost / impressions * 1000",
        "Cost per thousand impressions, to compare with paid ads.",
        "Fees against reach.",
        "money",
        "source",
    ),
    Definition(
        "orders_per_mille",
        "source_orders / impressions * 1000",
        "Orders per thousand impressions: how well seeing a post turns into buying.",
        "The offer, the audience's fit, the code's visibility.",
        "ratio",
        "source",
    ),
)

#: Every figure of a `MetricsReport`, by name, in report order.
DEFINITIONS: Mapping[str, Definition] = MappingProxyType(
    {d.name: d for d in (*_ALL, *_GROUPS, *_INVITATIONS, *_MOMENTS, *_PROGRAMMES)}
)


def definitions_markdown() -> str:
    """The reference table of every figure, as printed in ``docs/reference/metrics.md``."""
    lines = [
        "| Figure | Label | Unit | Formula | What it tells you | What moves it |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for d in DEFINITIONS.values():
        where = _WHERE[d.scope]
        lines.append(
            f"| `{d.name}`{where} | {d.label} | {_UNITS[d.unit]} | {d.formula} | {d.meaning}"
            f" | {d.moves} |"
        )
    return "\n".join(lines) + "\n"
