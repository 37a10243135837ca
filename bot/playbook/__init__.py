"""The after-sales playbook: shop.yml policy, scenario decisions, hand-over, variants, ratings, case notes."""
