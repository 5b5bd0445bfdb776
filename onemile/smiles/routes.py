"""Smiles routes (history, referral links): see helper work."""
