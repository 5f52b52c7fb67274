"""Track (step 6 of the road): delivery receipts and inbound replies applied to messages (`receipts`), and
status polling of carriers that push none (`polling`). Carriers' HTTP callbacks enter through smsgate.api.callbacks."""
