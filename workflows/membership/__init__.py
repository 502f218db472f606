"""入会 (joining the union): a worker's application, approved by the union onto its roster (会员实名制)."""
